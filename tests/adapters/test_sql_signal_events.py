"""``signal_events`` on SQLite and PostgreSQL: each event once, by intersection, pruned by day."""

from __future__ import annotations

from sqlalchemy import text

from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.cities import City
from signalight.domain.readings import Reading
from signalight.domain.signals import LogFile, LogFormat, LogStatus
from signalight.domain.telemetry import Accepted, DeviceRef

DAY = 86_400.0
T0 = 1_700_006_400.0  # a UTC midnight


def monitor(db: SqlDatabase, city: City, code: str, uid: str | None) -> int:
    """An intersection (its monitor ``uid``, if any); returns the asset's id."""
    db.assets.upsert_assets(
        city.pk,
        [AssetRecord(kind=AssetKind.INTERSECTION, code=code, lat=5.4, lon=100.4, device=uid)],
    )
    return db.signal_logs.controllers(city.pk, {code})[code][0]


def ref(db: SqlDatabase, city: City, uid: str) -> DeviceRef:
    found = db.telemetry.find_device(city.slug, uid)
    assert found is not None
    return found


def event(at: float, code: int, param: int) -> Reading:
    return Reading(at, "event", float(code), string_value=str(param))


def test_events_of_one_instant_are_each_kept_and_copies_are_not(
    database: SqlDatabase, city: City
) -> None:
    asset = monitor(database, city, "X-1", "SM-1")
    device = ref(database, city, "SM-1")
    burst = [event(T0, 8, 2), event(T0, 8, 6), event(T0, 10, 2), event(T0, 10, 6)]
    first = Accepted(device, [*burst, Reading(T0, "mode", string_value="normal")], T0)
    assert database.telemetry.write([first], []) == 5
    # The same pack again, and in one batch twice: nothing more.
    assert database.telemetry.write([first, first], []) == 0
    stored = database.signal_events.events(city.pk, asset, T0 - 1, T0 + 1)
    assert [(e.code, e.param) for e in stored] == [(8, 2), (8, 6), (10, 2), (10, 6)]
    # A log of the same controller adds only what the feed did not have.
    log = LogFile(
        name="x.dat",
        size=1,
        format=LogFormat.ECONOLITE_DAT,
        events=3,
        new=0,
        status=LogStatus.STORED,
        reason="",
        at=T0,
    )
    recorded = database.signal_events.add_log(
        city.pk, [(asset, [(T0, 8, 2), (T0, 10, 6), (T0 + 0.1, 1, 4)])], log
    )
    assert (recorded.new, recorded.duplicates) == (1, 2)
    assert recorded.id is not None
    assert len(database.signal_events.events(city.pk, asset, T0 - 1, T0 + 1)) == 5


def test_a_monitor_moved_to_another_intersection_writes_there_at_once(
    database: SqlDatabase, city: City
) -> None:
    first = monitor(database, city, "X-A", "SM-M")
    device = ref(database, city, "SM-M")  # as ingest's directory holds it: bound to X-A
    second = monitor(database, city, "X-B", None)
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE devices SET asset_id = :a WHERE uid = 'SM-M'"), {"a": second})
    assert database.telemetry.write([Accepted(device, [event(T0, 1, 2)], T0)], []) == 1
    assert database.signal_events.events(city.pk, first, 0, 4e9) == []
    assert len(database.signal_events.events(city.pk, second, 0, 4e9)) == 1


def test_old_events_are_pruned_with_the_readings_and_days_get_their_partition(
    database: SqlDatabase, city: City
) -> None:
    asset = monitor(database, city, "X-P", "SM-P")
    device = ref(database, city, "SM-P")
    old = T0 - 30 * DAY
    batch = [
        Accepted(device, [event(old, 82, 1), event(old + 1, 81, 1)], old),
        Accepted(device, [event(T0, 82, 1)], T0),
    ]
    assert database.telemetry.write(batch, []) == 3
    if database.engine.dialect.name == "postgresql":
        with database.engine.connect() as conn:
            names = set(
                conn.execute(
                    text(
                        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                        " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'signal_events'"
                    )
                ).scalars()
            )
        assert {"signal_events_20231016", "signal_events_20231115"} <= names
        with database.engine.connect() as conn:  # nothing landed in the default partition
            default = conn.execute(text("SELECT count(*) FROM signal_events_default")).scalar()
        assert default == 0
    deleted = database.telemetry.prune(T0 - DAY)
    assert deleted >= 2
    left = database.signal_events.events(city.pk, asset, 0, 4e9)
    assert [(e.time, e.code) for e in left] == [(T0, 82)]
