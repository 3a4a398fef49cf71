"""E-mail text of notifications: one digest of what a recipient has pending, most urgent first."""

from __future__ import annotations

import contextlib
import zoneinfo
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from signalight.domain.alarms import Severity
from signalight.domain.cities import City

__all__ = ["MAX_ITEMS", "digest"]

MAX_ITEMS: Final = 100  # listed in one e-mail; the rest are counted

_WHAT: Final = {
    "raised": "raised",
    "reopened": "raised again",
    "released": "raised (its outage ended)",
    "cleared": "cleared",
    "escalated": "NOT ACKNOWLEDGED",
    "reminded": "still active",
}


def digest(city: City, payloads: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """The subject and plain text of one e-mail telling ``payloads`` (as webhooks get them)."""
    items = sorted(payloads, key=_urgency)
    counts = Counter(str(p["event"]["kind"]) for p in items)
    summary = ", ".join(f"{n:,} {_WHAT.get(kind, kind)}" for kind, n in counts.most_common())
    if len(items) == 1:
        subject = f"[Signalight] {city.name}: {_headline(items[0])}"
    else:
        subject = f"[Signalight] {city.name}: {len(items):,} alarm notifications ({summary})"
    lines = [f"Signalight, {city.name}: {summary}.", ""]
    for payload in items[:MAX_ITEMS]:
        lines += _item(payload, city)
    if len(items) > MAX_ITEMS:
        lines.append(
            f"... and {len(items) - MAX_ITEMS:,} more: see the city's alarms in Signalight."
        )
        lines.append("")
    lines.append(
        f"You get this because a subscription of {city.name} in Signalight names this"
        " address; the city's administrators can change or remove it."
    )
    return subject, "\n".join(lines) + "\n"


def _urgency(payload: Mapping[str, Any]) -> tuple[int, str]:
    try:
        rank = Severity(payload["alarm"]["severity"]).rank
    except ValueError:
        rank = len(Severity)
    return rank, str(payload["event"]["at"])


def _where(alarm: Mapping[str, Any]) -> str:
    return str(alarm.get("asset_code") or alarm.get("device_uid") or f"alarm {alarm['id']}")


def _headline(payload: Mapping[str, Any]) -> str:
    alarm, kind = payload["alarm"], str(payload["event"]["kind"])
    return f"{alarm['severity']} {alarm['type']} {_WHAT.get(kind, kind)} at {_where(alarm)}"


def _item(payload: Mapping[str, Any], city: City) -> list[str]:
    alarm = payload["alarm"]
    lines = [f"{str(alarm['severity']).upper()}: {_headline(payload)}"]
    if alarm.get("message"):
        lines.append(f"  {' '.join(str(alarm['message']).split())}")
    when = _local(str(payload["event"]["at"]), city.timezone)
    level = int(payload.get("level", 1))
    escalation = f", escalation level {level}" if level > 1 else ""
    lines.append(f"  {when} (alarm {alarm['id']}{escalation})")
    lines.append("")
    return lines


def _local(iso: str, timezone: str) -> str:
    """An event time in the city's own time, as people there read it."""
    at = datetime.fromisoformat(iso)
    with contextlib.suppress(zoneinfo.ZoneInfoNotFoundError, ValueError):
        at = at.astimezone(zoneinfo.ZoneInfo(timezone))
    return at.strftime("%Y-%m-%d %H:%M %Z")
