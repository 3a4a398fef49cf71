"""Shared by the schedule tests: the issue's example profile, and lights to plan for."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from signalight.adapters.sql.database import SqlDatabase
from signalight.codecs.profiles import profile_from_json
from signalight.domain.assets import AssetKind, AssetQuery, AssetRecord, LuminaireType
from signalight.domain.cities import City
from signalight.domain.schedules import Profile
from tests.conftest import unique

# A Wednesday in Penang, 08:00 local: nights are about 12 hours all year.
NOW = datetime(2026, 3, 4, 0, 0, tzinfo=UTC)

EXAMPLE: dict[str, Any] = {
    "name": "residential",
    "steps": [
        {"anchor": "sunset", "offset_min": 5, "level": 100},
        {"anchor": "clock", "at": "23:00", "level": 60},
        {"anchor": "clock", "at": "01:00", "level": 30},
        {"anchor": "clock", "at": "05:00", "level": 80},
        {"anchor": "sunrise", "offset_min": -10, "level": 0},
    ],
    "off_windows": [],
}
FULL: dict[str, Any] = {
    "name": "festival",
    "steps": [
        {"anchor": "sunset", "offset_min": 0, "level": 100},
        {"anchor": "sunrise", "offset_min": 0, "level": 0},
    ],
}


def example(name: str = "residential", **changes: Any) -> Profile:
    """The issue's example profile (or FULL's steps with ``full=True``), under ``name``."""
    doc = dict(FULL if changes.pop("full", False) else EXAMPLE, name=name, **changes)
    return profile_from_json(doc)


def add_lights(
    db: SqlDatabase, city: City, n: int = 1, *, cabinet: str | None = None, **fields: Any
) -> list[tuple[int, str]]:
    """``n`` LED streetlights of 100 W near Penang (and their cabinet, if named): (id, code)."""
    records = []
    if cabinet is not None:
        records.append(AssetRecord(kind=AssetKind.CABINET, code=cabinet, lat=5.38, lon=100.40))
    codes = [unique("P") for _ in range(n)]
    values: dict[str, Any] = {"luminaire": LuminaireType.LED, "rated_watts": 100.0}
    values.update(fields)
    records += [
        AssetRecord(
            kind=AssetKind.STREETLIGHT, code=code, lat=5.38, lon=100.40, cabinet=cabinet, **values
        )
        for code in codes
    ]
    db.assets.upsert_assets(city.pk, records)
    return [
        (db.assets.query_assets(city.pk, AssetQuery(code=code, limit=1)).items[0].id, code)
        for code in codes
    ]
