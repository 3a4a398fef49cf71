"""Q-Free MAXTIME event logs: the XML ``EventResponses`` of its ``v1/asclog/xml/full`` answer.

::

    <EventResponses><EventResponse>
      <Description><IntersectionNumber>1015</IntersectionNumber><IP>10.204.10.15</IP>…</Description>
      <Event ID="19435806" TimeStamp="7-22-2024 13:33:19.3" EventTypeID="4" Parameter="1"/>
      …
    </EventResponse></EventResponses>

Parsed with defusedxml, which refuses a DTD and so every entity-expansion
bomb and external entity. MAXTIME's own codes (300-619 and more) are kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from signalight.codecs.signal_logs.errors import LogError
from signalight.codecs.signal_logs.timestamps import TimestampReader
from signalight.domain.signals import (
    EVENT_CODE_MAX,
    EVENT_PARAMETER_MAX,
    DecodedLog,
    LogFormat,
    LogZone,
)

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

__all__ = ["decode_maxtime_xml"]

_ATTRIBUTES = ("TimeStamp", "EventTypeID", "Parameter")
# The Description's fields that name the controller, in order of preference:
# IntersectionNumber is MAXTIME's counterpart of an Econolite header's "Intersection #".
_SIGNAL_FIELDS = ("IntersectionNumber", "IP")


def decode_maxtime_xml(filename: str, data: bytes) -> DecodedLog:
    """Decode a MAXTIME ``EventResponses`` document; raise :class:`LogError` if it is wrong."""
    if not data.strip():
        raise LogError(filename, "the file is empty")
    try:
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        reason = f"XML refused: it declares a DTD or entities ({type(exc).__name__})"
        raise LogError(filename, reason) from exc
    except ParseError as exc:
        raise LogError(filename, f"not well-formed XML ({exc})") from exc
    _expect(filename, root, "EventResponses", "at the root")
    reader = TimestampReader()
    signals: dict[str, list[tuple[float, int, int]]] = {}
    number = 0  # events so far, for the messages
    for response in root:
        _expect(filename, response, "EventResponse", "in <EventResponses>")
        signal, elements = "", []
        for child in response:
            tag = _name(child)
            if tag == "Event":
                elements.append(child)
            elif tag == "Description":
                signal = _signal_id(child)
            else:
                _expect(filename, child, "Event", "in <EventResponse>")
        events = _columnwise(elements, reader)
        if events is None:  # something is wrong: find which event, one by one
            events = [
                _event(filename, element, at, reader)
                for at, element in enumerate(elements, start=number + 1)
            ]
        signals.setdefault(signal, []).extend(events)
        number += len(elements)
    zone = LogZone.UTC if reader.zoned else LogZone.LOCAL
    return DecodedLog(LogFormat.MAXTIME_XML, zone, signals)


def _columnwise(
    elements: list[Element], reader: TimestampReader
) -> list[tuple[float, int, int]] | None:
    """The events an attribute at a time (each timestamp parsed once), or None if one is wrong."""
    if not elements:
        return []
    attributes = [element.attrib for element in elements]
    try:
        stamp, code, param = ([each[name] for each in attributes] for name in _ATTRIBUTES)
        codes, params = list(map(int, code)), list(map(int, param))
        times = reader.read_all(stamp)
    except (KeyError, ValueError):
        return None
    if min(codes) < 0 or max(codes) > EVENT_CODE_MAX or max(map(abs, params)) > EVENT_PARAMETER_MAX:
        return None
    return list(zip(times, codes, params, strict=True))


def _name(element: Element) -> str:
    """An element's name without its namespace."""
    return element.tag.rpartition("}")[2]


def _expect(filename: str, element: Element, name: str, where: str) -> None:
    """Refuse an element other than the one this place of the document holds."""
    if _name(element) != name:
        found = _name(element)[:40]
        raise LogError(filename, f"unexpected XML element <{found}> {where} (expected <{name}>)")


def _event(
    filename: str, element: Element, number: int, reader: TimestampReader
) -> tuple[float, int, int]:
    """One ``<Event>`` as ``(time, code, parameter)``."""
    attributes = element.attrib
    try:
        stamp, code_text, param_text = (attributes[name] for name in _ATTRIBUTES)
    except KeyError as exc:
        raise LogError(filename, f"Event {number} has no {exc.args[0]} attribute") from None
    try:
        time = reader.read(stamp)
    except ValueError as exc:
        raise LogError(filename, f"{exc} on Event {number}") from None
    try:
        code, param = int(code_text), int(param_text)
    except ValueError:
        numbers = f"EventTypeID={code_text[:20]!r} Parameter={param_text[:20]!r}"
        raise LogError(filename, f"Event {number} has {numbers}: not whole numbers") from None
    if code < 0 or code > EVENT_CODE_MAX or abs(param) > EVENT_PARAMETER_MAX:
        raise LogError(filename, f"Event {number}: code {code} or parameter {param} out of range")
    return time, code, param


def _signal_id(description: Element) -> str:
    """The controller's id from a ``<Description>``: its intersection number, else its IP."""
    for name in _SIGNAL_FIELDS:
        for child in description:
            if _name(child) == name and child.text and child.text.strip():
                return child.text.strip()
    return ""
