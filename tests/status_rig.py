"""A small city whose every asset shows one map status, with known repairs: for the status tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.alarms import Alarm, AlarmType, EventKind, Severity
from signalight.domain.assets import AssetKind, AssetQuery, AssetRecord, AssetStatus, StreetClass
from signalight.domain.cities import City
from signalight.domain.readings import Reading
from signalight.domain.telemetry import Accepted

NOW = datetime(2024, 6, 1, 16, 0, tzinfo=UTC)  # midnight in Kuala Lumpur: lights should burn
T = NOW.timestamp()
HOUR = 3600.0
DAY = 86_400.0

# What the map shows of each asset of the rig's city at NOW.
EXPECTED = {
    "CAB-1": ("alarm", "critical", ["supplyLoss"]),
    "SL-OK": ("working", None, []),
    "SL-SILENT": ("silent", None, []),
    "SL-NEVER": ("silent", None, []),
    "SL-NODEV": ("unknown", None, []),
    "SL-ALARM": ("alarm", "major", ["lampFailure", "orientationChanged"]),
    "SL-HELD": ("alarm", "minor", ["lampFailure"]),
    "SL-GONE": ("removed", None, []),
    "SL-PLAN": ("planned", None, []),
}


@dataclass(frozen=True)
class Rig:
    """The city and its assets' ids by code."""

    city: City
    ids: dict[str, int]


def _light(code: str, device: str | None, **overrides: object) -> AssetRecord:
    values: dict[str, object] = {
        "kind": AssetKind.STREETLIGHT,
        "code": code,
        "lat": 5.38,
        "lon": 100.40 + len(code) / 1000,
        "cabinet": "CAB-1",
        "device": device,
    }
    values.update(overrides)
    return AssetRecord(**values)  # type: ignore[arg-type]


def heard(db: SqlDatabase, city: City, uid: str, at: float) -> None:
    """A message from the device ``uid`` received at ``at``."""
    device = db.telemetry.find_device(city.slug, uid)
    assert device is not None
    db.telemetry.write([Accepted(device, [Reading(at - 1, "power", 60.0)], at)], [])


def alarm(
    db: SqlDatabase,
    city: City,
    asset_id: int,
    kind: AlarmType,
    severity: Severity,
    at: float,
    *,
    held: bool = False,
) -> Alarm:
    """A stored raised (or held) alarm on the asset."""
    found = Alarm(
        city_id=city.pk,
        type=kind,
        severity=severity,
        asset_id=asset_id,
        raised_at=at,
        observed_at=at,
        updated_at=at,
        held=held,
    )
    db.alarms.record([(found, EventKind.HELD if held else EventKind.RAISED, at)])
    return found


def build(db: SqlDatabase, city: City) -> Rig:
    """The city's assets, devices' messages, open alarms and repairs (see EXPECTED).

    Repairs cleared within 30 days of NOW: 2 h, 1 h and (the same alarm reopened) 3 h;
    one cleared 31 days ago and one closed by the inventory do not count: MTTR 2 h.
    """
    db.assets.upsert_assets(
        city.pk,
        [
            AssetRecord(kind=AssetKind.CABINET, code="CAB-1", lat=5.38, lon=100.40, device="M-1"),
            _light("SL-OK", "N-OK", street_class=StreetClass.LOCAL),
            _light("SL-SILENT", "N-SILENT"),
            _light("SL-NEVER", "N-NEVER"),
            _light("SL-NODEV", None),
            _light("SL-ALARM", "N-ALARM"),
            _light("SL-HELD", "N-HELD"),
            _light("SL-GONE", "N-GONE"),
            _light("SL-PLAN", None, status=AssetStatus.PLANNED),
        ],
    )
    ids = {a.code: a.id for a in db.assets.query_assets(city.pk, AssetQuery()).items}
    for uid in ("M-1", "N-OK", "N-ALARM", "N-HELD", "N-GONE"):
        heard(db, city, uid, T - 60)
    heard(db, city, "N-SILENT", T - 2 * HOUR)
    alarm(db, city, ids["CAB-1"], AlarmType.SUPPLY_LOSS, Severity.CRITICAL, T - HOUR)
    alarm(db, city, ids["SL-ALARM"], AlarmType.LAMP_FAILURE, Severity.MINOR, T - HOUR)
    alarm(db, city, ids["SL-ALARM"], AlarmType.ORIENTATION_CHANGED, Severity.MAJOR, T - HOUR)
    alarm(db, city, ids["SL-HELD"], AlarmType.LAMP_FAILURE, Severity.MINOR, T - HOUR, held=True)
    # Repairs.
    two = alarm(db, city, ids["SL-OK"], AlarmType.HIGH_POWER, Severity.MINOR, T - 10 * HOUR)
    db.alarms.record([(two, EventKind.CLEARED, T - 8 * HOUR)])
    flapping = alarm(db, city, ids["SL-OK"], AlarmType.LOW_VOLTAGE, Severity.MAJOR, T - 20 * HOUR)
    db.alarms.record([(flapping, EventKind.CLEARED, T - 19 * HOUR)])
    db.alarms.record([(flapping, EventKind.REOPENED, T - 5 * HOUR)])
    db.alarms.record([(flapping, EventKind.CLEARED, T - 2 * HOUR)])
    old = alarm(db, city, ids["SL-SILENT"], AlarmType.HIGH_POWER, Severity.MINOR, T - 40 * DAY)
    db.alarms.record([(old, EventKind.CLEARED, T - 31 * DAY)])
    alarm(db, city, ids["SL-GONE"], AlarmType.NODE_FAULT, Severity.MINOR, T - 30 * HOUR)
    db.assets.delete_asset(city.pk, ids["SL-GONE"])  # retired: its alarm closed, not repaired
    return Rig(city, ids)
