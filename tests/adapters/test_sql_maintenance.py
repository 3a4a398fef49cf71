"""The maintenance store on SQLite and PostgreSQL: orders, guards, incidents, counts, doors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect

from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.engine import make_engine
from signalight.adapters.sql.migrate import alembic_config
from signalight.domain.alarms import Severity
from signalight.domain.assets import AssetKind, AssetQuery, AssetRecord
from signalight.domain.cities import City
from signalight.domain.errors import ConflictError, NotFoundError
from signalight.domain.maintenance import (
    Confirmation,
    Part,
    Photo,
    WorkOrder,
    WorkOrderNote,
    WorkOrderQuery,
    WorkOrderState,
)
from tests.conftest import make_city, unique

NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def _asset(db: SqlDatabase, city: City, kind: AssetKind = AssetKind.STREETLIGHT) -> int:
    code = unique("a")
    db.assets.upsert_assets(city.pk, [AssetRecord(kind=kind, code=code, lat=5.38, lon=100.4)])
    return db.assets.query_assets(city.pk, AssetQuery(code=code, limit=1)).items[0].id


def _order(city: City, asset_id: int, **overrides: object) -> WorkOrder:
    values: dict[str, object] = {
        "city_id": city.pk,
        "asset_id": asset_id,
        "asset_code": "L-1",
        "title": "lamp out",
        "priority": Severity.MAJOR,
        "state": WorkOrderState.OPEN,
        "due_at": NOW + timedelta(hours=24),
        "created_at": NOW,
        "created_by": "op",
    }
    values.update(overrides)
    return WorkOrder(**values)  # type: ignore[arg-type]


def test_an_order_round_trips_with_its_incident_alarms_and_parts(
    database: SqlDatabase, city: City
) -> None:
    store = database.maintenance
    asset = _asset(database, city)
    incident = store.open_incident(city.pk, asset, [], NOW)
    stored = store.add_work_order(_order(city, asset, incident_id=incident.id))
    assert stored.id is not None
    assert stored.due_at == NOW + timedelta(hours=24)
    assert stored.due_at.tzinfo is not None
    changed = store.update_work_order(
        city.pk,
        stored.pk,
        {WorkOrderState.OPEN},
        {
            "state": WorkOrderState.DONE,
            "parts": (Part("lamp"), Part("fuse", 3)),
            "confirmation": Confirmation.NOT_CONFIRMED,
        },
    )
    assert changed.parts == (Part("lamp"), Part("fuse", 3))
    assert changed.confirmation is Confirmation.NOT_CONFIRMED
    assert [o.pk for o in store.awaiting_confirmation(city.pk)] == [stored.pk]


def test_a_step_from_a_state_the_order_left_is_a_conflict(
    database: SqlDatabase, city: City
) -> None:
    store = database.maintenance
    order = store.add_work_order(_order(city, _asset(database, city)))
    store.update_work_order(city.pk, order.pk, {WorkOrderState.OPEN}, {"state": "assigned"})
    with pytest.raises(ConflictError, match="assigned"):
        store.update_work_order(city.pk, order.pk, {WorkOrderState.OPEN}, {"state": "cancelled"})


def test_another_city_sees_nothing(database: SqlDatabase, city: City) -> None:
    store = database.maintenance
    other = make_city(database)
    order = store.add_work_order(_order(city, _asset(database, city)))
    incident = store.open_incident(city.pk, None, [], NOW)
    with pytest.raises(NotFoundError):
        store.get_work_order(other.pk, order.pk)
    with pytest.raises(NotFoundError):
        store.get_incident(other.pk, incident.id or 0)
    with pytest.raises(NotFoundError):
        store.update_work_order(other.pk, order.pk, {WorkOrderState.OPEN}, {"state": "assigned"})
    with pytest.raises(NotFoundError):
        store.add_note(
            other.pk, WorkOrderNote(work_order_id=order.pk, at=NOW, author="x", text="y")
        )
    assert store.query_work_orders(other.pk, WorkOrderQuery()).items == []
    assert store.counts(other.pk, NOW) == (0, 0)


def test_lists_filter_and_page_newest_first(database: SqlDatabase, city: City) -> None:
    store = database.maintenance
    asset = _asset(database, city)
    ids = [
        store.add_work_order(_order(city, asset, crew=crew, state=state)).pk
        for crew, state in (
            (None, WorkOrderState.OPEN),
            ("ann", WorkOrderState.ASSIGNED),
            ("bob", WorkOrderState.ASSIGNED),
            ("ann", WorkOrderState.DONE),
        )
    ]
    ann = store.query_work_orders(city.pk, WorkOrderQuery(crew="ann"))
    assert [o.pk for o in ann.items] == [ids[3], ids[1]]
    assigned = store.query_work_orders(
        city.pk, WorkOrderQuery(states=frozenset({WorkOrderState.ASSIGNED}))
    )
    assert [o.pk for o in assigned.items] == [ids[2], ids[1]]
    first = store.query_work_orders(city.pk, WorkOrderQuery(limit=3))
    assert [o.pk for o in first.items] == ids[:0:-1]
    assert first.next_after == ids[1]
    rest = store.query_work_orders(city.pk, WorkOrderQuery(before_id=first.next_after, limit=3))
    assert ([o.pk for o in rest.items], rest.next_after) == ([ids[0]], None)


def test_counts_open_and_past_due_orders(database: SqlDatabase, city: City) -> None:
    store = database.maintenance
    asset = _asset(database, city)
    store.add_work_order(_order(city, asset, due_at=NOW - timedelta(minutes=1)))
    store.add_work_order(_order(city, asset, state=WorkOrderState.IN_PROGRESS))
    store.add_work_order(
        _order(city, asset, state=WorkOrderState.DONE, due_at=NOW - timedelta(days=1))
    )
    store.add_work_order(
        _order(city, asset, state=WorkOrderState.CANCELLED, due_at=NOW - timedelta(days=1))
    )
    assert store.counts(city.pk, NOW) == (2, 1)
    assert store.counts(city.pk, NOW + timedelta(days=2)) == (2, 2)


def test_door_orders_are_assigned_or_in_progress_within_their_window(
    database: SqlDatabase, city: City
) -> None:
    store = database.maintenance
    cabinet = _asset(database, city, AssetKind.CABINET)
    store.add_work_order(_order(city, cabinet))  # open: nobody is coming
    assigned = store.add_work_order(_order(city, cabinet, state=WorkOrderState.ASSIGNED))
    grace = 3600.0
    assert [o.pk for o in store.door_orders(city.pk, [cabinet], NOW, grace)] == [assigned.pk]
    end = NOW + timedelta(hours=25)
    assert store.door_orders(city.pk, [cabinet], end, grace) != []
    assert store.door_orders(city.pk, [cabinet], end + timedelta(seconds=1), grace) == []
    assert store.door_orders(city.pk, [cabinet], NOW - timedelta(seconds=1), grace) == []


def test_notes_photos_and_settings(database: SqlDatabase, city: City) -> None:
    store = database.maintenance
    order = store.add_work_order(_order(city, _asset(database, city)))
    note = store.add_note(
        city.pk, WorkOrderNote(work_order_id=order.pk, at=NOW, author="ann", text="on site")
    )
    assert [n.text for n in store.notes(city.pk, order.pk)] == ["on site"]
    assert note.id is not None
    data = b"\xff\xd8 pretend jpeg \x00\xff"
    photo = store.add_photo(
        city.pk,
        Photo(
            work_order_id=order.pk,
            at=NOW,
            author="ann",
            media_type="image/jpeg",
            width=4,
            height=3,
            data=data,
        ),
    )
    listed = store.photos(city.pk, order.pk)
    assert [(p.id, p.data) for p in listed] == [(photo.id, b"")]  # listed without bytes
    assert store.get_photo(city.pk, order.pk, photo.id or 0).data == data
    with pytest.raises(NotFoundError):
        store.get_photo(city.pk, order.pk, (photo.id or 0) + 1000)
    assert store.service_overrides(city.pk) == {}
    store.set_service_overrides(city.pk, {"critical": 2.0}, NOW)
    store.set_service_overrides(city.pk, {"minor": 12.5}, NOW)
    assert store.service_overrides(city.pk) == {"minor": 12.5}


def test_migration_0009_goes_down_and_up(tmp_path: Path) -> None:
    """On a throwaway SQLite file: the shared database stays at head."""
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    config = alembic_config(engine)
    command.upgrade(config, "0009")
    assert "work_orders" in inspect(engine).get_table_names()
    command.downgrade(config, "0008")
    assert "work_orders" not in inspect(engine).get_table_names()
    command.upgrade(config, "0009")
    assert {"incidents", "incident_alarms", "work_order_photos"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()
