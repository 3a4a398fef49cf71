"""Factories and Hypothesis strategies for inventory records, shared by the codec tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from hypothesis import strategies as st

from signalight.domain.assets import (
    CODE_MAX,
    AssetKind,
    AssetRecord,
    AssetStatus,
    LuminaireType,
    StreetClass,
    device_uid_problems,
    record_problems,
)


def make_streetlight(**overrides: Any) -> AssetRecord:
    base = AssetRecord(
        kind=AssetKind.STREETLIGHT,
        code="P-0001",
        lat=52.3702157,
        lon=4.8951679,
        name="Dam 1",
        street="Dam",
        street_class=StreetClass.COLLECTOR,
        cabinet="C-01",
        group="centre",
        installed_on=date(2018, 5, 4),
        luminaire=LuminaireType.LED,
        rated_watts=54.5,
        lamp_changed_on=date(2022, 1, 9),
        device="node-0001",
        device_firmware="1.4.2",
    )
    return replace(base, **overrides)


def make_cabinet(**overrides: Any) -> AssetRecord:
    base = AssetRecord(
        kind=AssetKind.CABINET,
        code="C-01",
        lat=52.37,
        lon=4.89,
        name="Dam cabinet",
        status=AssetStatus.IN_SERVICE,
        device="meter-01",
    )
    return replace(base, **overrides)


def make_intersection(**overrides: Any) -> AssetRecord:
    base = AssetRecord(
        kind=AssetKind.INTERSECTION,
        code="X-12",
        lat=-33.8688197,
        lon=151.2092955,
        name="George St / Market St",
        street_class=StreetClass.ARTERIAL,
        cabinet="C-01",
        controller_id="ASC3-0012",
        controller_vendor="Econolite",
        phases=(2, 4, 6, 8),
        device="mon-12",
    )
    return replace(base, **overrides)


# Text as a file can hold it: any character but lone surrogates (not encodable as UTF-8), and
# no surrounding whitespace, which the decoders strip.
_plain = st.text(st.characters(exclude_categories=["Cs"]), max_size=30).map(str.strip)
# Text a spreadsheet would run as a formula, maybe behind quotes, which CSV export escapes.
_formulas = st.tuples(st.text("'", max_size=2), st.sampled_from("=+-@"), _plain).map("".join)
_text = _plain | _formulas
_codes = _text.filter(lambda text: 0 < len(text) <= CODE_MAX)
_devices = _codes.filter(lambda text: not device_uid_problems(text))


def _coordinate(limit: float) -> st.SearchStrategy[float]:
    return st.floats(min_value=-limit, max_value=limit).map(lambda value: round(value, 7))


@st.composite
def asset_records(draw: st.DrawFn) -> AssetRecord:
    """Valid records of every kind, with coordinates rounded to 7 decimals as files hold them."""
    kind = draw(st.sampled_from(AssetKind))
    code = draw(_codes)
    installed_on = draw(st.none() | st.dates())
    values: dict[str, Any] = {
        "kind": kind,
        "code": code,
        "lat": draw(_coordinate(90)),
        "lon": draw(_coordinate(180)),
        "name": draw(_text),
        "status": draw(st.sampled_from(AssetStatus)),
        "street": draw(_text),
        "street_class": draw(st.none() | st.sampled_from(StreetClass)),
        "group": draw(_text),
        "installed_on": installed_on,
        "device": draw(st.none() | _devices),
        "device_firmware": draw(_text),
    }
    if kind is not AssetKind.CABINET:
        values["cabinet"] = draw(st.none() | _codes.filter(lambda text: text != code))
    if kind is AssetKind.STREETLIGHT:
        values["luminaire"] = draw(st.none() | st.sampled_from(LuminaireType))
        values["rated_watts"] = draw(
            st.none() | st.floats(min_value=0, max_value=2000, exclude_min=True)
        )
        values["lamp_changed_on"] = draw(st.none() | st.dates(min_value=installed_on or date.min))
    if kind is AssetKind.INTERSECTION:
        values["controller_id"] = draw(_text)
        values["controller_vendor"] = draw(_text)
        values["phases"] = tuple(draw(st.lists(st.integers(1, 40), unique=True, max_size=8)))
    record = AssetRecord(**values)
    assert record_problems(record) == []  # the strategy must only make valid records
    return record
