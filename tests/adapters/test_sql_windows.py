"""The maintenance window store on SQLite and PostgreSQL: spans, filters, ending, audit, cities."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.windows import SqlWindowStore
from signalight.domain.assets import AssetKind, AssetQuery, AssetRecord
from signalight.domain.cities import City
from signalight.domain.errors import ConflictError, NotFoundError
from signalight.domain.users import AuditAction
from signalight.domain.windows import MaintenanceWindow, WindowQuery
from tests.conftest import make_city, unique

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _asset(db: SqlDatabase, city: City, kind: AssetKind = AssetKind.INTERSECTION) -> int:
    code = unique("x")
    db.assets.upsert_assets(city.pk, [AssetRecord(kind=kind, code=code, lat=5.38, lon=100.4)])
    return db.assets.query_assets(city.pk, AssetQuery(code=code, limit=1)).items[0].id


def _window(city: City, asset_id: int, **overrides: object) -> MaintenanceWindow:
    values: dict[str, object] = {
        "city_id": city.pk,
        "asset_id": asset_id,
        "asset_code": "ignored: read from the asset",
        "starts_at": NOW,
        "ends_at": NOW + 2 * HOUR,
        "who": "ali",
        "why": "replace the red lamp of phase 2",
        "created_by": "op",
        "created_at": NOW - HOUR,
    }
    values.update(overrides)
    return MaintenanceWindow(**values)  # type: ignore[arg-type]


def test_a_window_round_trips_and_covers_its_span_only(database: SqlDatabase, city: City) -> None:
    store = SqlWindowStore(database.engine)
    junction = _asset(database, city)
    other = _asset(database, city)
    stored = store.add_window(_window(city, junction))
    assert stored.id is not None
    assert stored.asset_code.startswith("x-")
    assert stored.starts_at == NOW
    assert stored.starts_at.tzinfo is not None
    assert store.get_window(city.pk, stored.pk) == stored

    def covering(at: datetime, ids: list[int] | None = None) -> list[int]:
        return [w.pk for w in store.covering(city.pk, ids or [junction], at)]

    assert covering(NOW) == [stored.pk]
    assert covering(NOW + 2 * HOUR - timedelta(seconds=1)) == [stored.pk]
    assert covering(NOW - timedelta(seconds=1)) == []
    assert covering(NOW + 2 * HOUR) == []  # the end is not in the window
    assert covering(NOW, [other]) == []
    assert store.covering(city.pk, [], NOW) == []


def test_ending_early_stops_the_window_and_twice_is_a_conflict(
    database: SqlDatabase, city: City
) -> None:
    store = SqlWindowStore(database.engine)
    junction = _asset(database, city)
    window = store.add_window(_window(city, junction))
    ended = store.end_window(city.pk, window.pk, actor="boss", at=NOW + HOUR)
    assert ended.ended_at == NOW + HOUR
    assert [w.pk for w in store.covering(city.pk, [junction], NOW + HOUR / 2)] == [window.pk]
    assert store.covering(city.pk, [junction], NOW + HOUR) == []
    with pytest.raises(ConflictError, match="over already"):
        store.end_window(city.pk, window.pk, actor="boss", at=NOW + HOUR)
    ran_out = store.add_window(_window(city, junction))
    with pytest.raises(ConflictError):
        store.end_window(city.pk, ran_out.pk, actor="boss", at=NOW + 2 * HOUR)
    with pytest.raises(NotFoundError):
        store.end_window(city.pk, window.pk + 10_000, actor="boss", at=NOW)


def test_openings_and_endings_are_in_the_city_audit(database: SqlDatabase, city: City) -> None:
    store = SqlWindowStore(database.engine)
    window = store.add_window(_window(city, _asset(database, city), who="ali", created_by="op"))
    store.end_window(city.pk, window.pk, actor="ali", at=NOW + HOUR)
    entries = database.users.audit(city.pk, 10)
    assert [(e.action, e.actor, e.target) for e in entries[:2]] == [
        (AuditAction.WINDOW_ENDED, "ali", "ali"),
        (AuditAction.WINDOW_OPENED, "op", "ali"),
    ]
    assert entries[1].detail == (
        f"window {window.pk} on {window.asset_code}, 2026-03-02 02:00Z to 2026-03-02 04:00Z:"
        " replace the red lamp of phase 2"
    )
    assert entries[0].at == NOW + HOUR


def test_queries_filter_and_page_newest_first(database: SqlDatabase, city: City) -> None:
    store = SqlWindowStore(database.engine)
    junction, other = _asset(database, city), _asset(database, city)
    first = store.add_window(_window(city, junction, who="ali"))
    second = store.add_window(_window(city, other, who="bea", starts_at=NOW + 3 * HOUR,
                                      ends_at=NOW + 4 * HOUR))  # fmt: skip
    third = store.add_window(_window(city, junction, who="bea"))
    store.end_window(city.pk, third.pk, actor="op", at=NOW + HOUR / 2)

    def ids(**fields: object) -> list[int]:
        return [w.pk for w in store.query_windows(city.pk, WindowQuery(**fields)).items]  # type: ignore[arg-type]

    assert ids() == [third.pk, second.pk, first.pk]
    assert ids(asset_id=junction) == [third.pk, first.pk]
    assert ids(who="bea") == [third.pk, second.pk]
    assert ids(active_at=NOW + HOUR) == [first.pk]  # the third was ended at half past
    assert ids(active_at=NOW + 3 * HOUR) == [second.pk]
    page = store.query_windows(city.pk, WindowQuery(limit=2))
    assert page.next_after == second.pk
    assert ids(before_id=second.pk) == [first.pk]


def test_another_citys_window_is_not_found_and_goes_with_its_asset(
    database: SqlDatabase, city: City
) -> None:
    store = SqlWindowStore(database.engine)
    elsewhere = make_city(database)
    junction = _asset(database, city)
    window = store.add_window(_window(city, junction))
    with pytest.raises(NotFoundError):
        store.get_window(elsewhere.pk, window.pk)
    with pytest.raises(NotFoundError):
        store.end_window(elsewhere.pk, window.pk, actor="op", at=NOW)
    assert store.covering(elsewhere.pk, [junction], NOW) == []
    assert store.query_windows(elsewhere.pk, WindowQuery()).items == []
    database.assets.delete_asset(city.pk, junction)
    with pytest.raises(NotFoundError):
        store.get_window(city.pk, window.pk)
