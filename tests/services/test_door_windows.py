"""Maintenance windows and the cabinet-door check: roles, rules, and what authorises a door."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from signalight.adapters.clock import ManualClock
from signalight.adapters.sql.assets import SqlAssetRepository
from signalight.adapters.sql.cities import SqlCityRepository
from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.engine import make_engine
from signalight.adapters.sql.imports import SqlImportLog
from signalight.adapters.sql.maintenance import SqlMaintenanceStore
from signalight.adapters.sql.users import SqlUserRepository
from signalight.adapters.sql.windows import SqlWindowStore
from signalight.container import Container
from signalight.domain.alarms import Severity
from signalight.domain.assets import Asset, AssetKind
from signalight.domain.cities import City
from signalight.domain.errors import InvalidInputError, PermissionDeniedError
from signalight.domain.users import Role, User
from signalight.domain.windows import MaintenanceWindow, WindowQuery
from signalight.services.door_windows import DoorAuthority, DoorCheckUnavailableError, DoorWindows
from signalight.services.inventory import Inventory
from signalight.settings import Settings
from tests.conftest import make_city
from tests.services.maintenance_rig import START, container_at, make_asset, make_user

HOUR = timedelta(hours=1)


@pytest.fixture
def rig(settings: Settings, database: SqlDatabase) -> tuple[Container, ManualClock]:
    return container_at(settings, database)


def _open(
    container: Container, city: City, asset: Asset, who: User, **overrides: object
) -> MaintenanceWindow:
    """A window from START + 1 h to START + 3 h, opened by a new operator."""
    fields: dict[str, object] = {
        "starts_at": START + HOUR,
        "ends_at": START + 3 * HOUR,
        "who": who.username,
        "why": "replace the red lamp of phase 2",
    }
    fields.update(overrides)
    operator = make_user(container, city, Role.OPERATOR)
    return container.windows.open(city, operator, asset.code, **fields)  # type: ignore[arg-type]


def test_a_window_authorises_its_intersection_inside_its_span_only(
    rig: tuple[Container, ManualClock], city: City
) -> None:
    container, clock = rig
    junction = make_asset(container, city, AssetKind.INTERSECTION)
    neighbour = make_asset(container, city, AssetKind.INTERSECTION)
    crew = make_user(container, city, Role.CREW)
    window = _open(container, city, junction, crew)
    check = container.windows.authorises

    # Kuala Lumpur is UTC+8: START + 1 h is 17:00 there.
    expected = f"maintenance window {window.pk} (crew {crew.username}: replace the red lamp of"
    text = check(city.pk, junction.id, START + 2 * HOUR)
    assert text == f"{expected} phase 2), 17:00-19:00"
    assert check(city.pk, junction.id, START + HOUR) is not None  # from its first second
    assert check(city.pk, junction.id, START + HOUR - timedelta(seconds=1)) is None
    assert check(city.pk, junction.id, START + 3 * HOUR) is None  # until is not in it
    assert check(city.pk, neighbour.id, START + 2 * HOUR) is None
    elsewhere = make_city(container.db)
    assert check(elsewhere.pk, junction.id, START + 2 * HOUR) is None
    assert check(city.pk, junction.id + 10_000, START + 2 * HOUR) is None  # no such asset

    clock.advance(HOUR + HOUR / 2)
    ended = container.windows.end(city, crew, window.pk)  # the crew ends its own
    assert ended.ended_at == START + HOUR + HOUR / 2
    assert check(city.pk, junction.id, START + HOUR + HOUR / 4) is not None  # before the end
    assert check(city.pk, junction.id, START + 2 * HOUR) is None


def test_a_window_on_the_cabinet_authorises_the_intersections_it_feeds(
    rig: tuple[Container, ManualClock], city: City
) -> None:
    container, _ = rig
    cabinet = make_asset(container, city, AssetKind.CABINET)
    fed = make_asset(container, city, AssetKind.INTERSECTION, cabinet=cabinet.code)
    sibling = make_asset(container, city, AssetKind.INTERSECTION, cabinet=cabinet.code)
    crew = make_user(container, city, Role.CREW)
    at = START + 2 * HOUR
    window = _open(container, city, cabinet, crew)
    text = container.windows.authorises(city.pk, fed.id, at)
    assert text is not None
    assert text.startswith(f"maintenance window {window.pk} ")
    # A window on one intersection opens the cabinet's door, not its sibling's.
    on_fed = _open(container, city, fed, crew, starts_at=START + 4 * HOUR, ends_at=START + 5 * HOUR)
    later = START + 4 * HOUR + HOUR / 2
    assert container.windows.authorises(city.pk, cabinet.id, later) == (
        f"maintenance window {on_fed.pk} (crew {crew.username}: replace the red lamp of phase 2),"
        " 20:00-21:00"
    )
    assert container.windows.authorises(city.pk, sibling.id, later) is None


def test_a_work_order_still_authorises_a_door(
    rig: tuple[Container, ManualClock], city: City
) -> None:
    container, _ = rig
    cabinet = make_asset(container, city, AssetKind.CABINET)
    junction = make_asset(container, city, AssetKind.INTERSECTION, cabinet=cabinet.code)
    operator = make_user(container, city, Role.OPERATOR)
    crew = make_user(container, city, Role.CREW)
    order = container.maintenance.create_by_hand(
        city, operator, cabinet.id, title="fan noisy", priority=Severity.CRITICAL
    )
    check = container.windows.authorises
    assert check(city.pk, junction.id, START + HOUR) is None  # open: nobody was sent
    container.maintenance.assign(city, operator, order.pk, crew.username)
    # Critical: due in 4 h (20:00 in the city), with 2 h of grace at the door.
    assert check(city.pk, junction.id, START + HOUR) == (
        f"work order {order.pk} (crew {crew.username}: fan noisy), due 20:00"
    )
    assert check(city.pk, cabinet.id, START + 6 * HOUR) is not None
    assert check(city.pk, junction.id, START + 6 * HOUR + timedelta(seconds=1)) is None
    # A window is named before an order when both cover the time.
    window = _open(container, city, junction, crew)
    assert (check(city.pk, junction.id, START + 2 * HOUR) or "").startswith(
        f"maintenance window {window.pk} "
    )


def test_who_may_open_read_and_end_windows(rig: tuple[Container, ManualClock], city: City) -> None:
    container, _ = rig
    junction = make_asset(container, city, AssetKind.INTERSECTION)
    ali, bea = make_user(container, city, Role.CREW), make_user(container, city, Role.CREW)
    viewer = make_user(container, city, Role.VIEWER)
    admin = make_user(container, city, Role.ADMIN)
    service = container.windows
    span = (START + HOUR, START + 2 * HOUR)
    for caller in (viewer, ali):
        with pytest.raises(PermissionDeniedError):
            service.open(city, caller, junction.code, *span, who=ali.username, why="x")
    alis = service.open(city, admin, junction.code, *span, who=ali.username, why="lamp")
    beas = _open(container, city, junction, bea)

    assert [w.pk for w in service.query(city, ali, WindowQuery()).items] == [alis.pk]
    assert [w.pk for w in service.query(city, viewer, WindowQuery()).items] == [beas.pk, alis.pk]
    with pytest.raises(PermissionDeniedError):
        service.query(city, ali, WindowQuery(who=bea.username))
    with pytest.raises(PermissionDeniedError):
        service.get(city, ali, beas.pk)
    assert service.get(city, viewer, beas.pk) == beas
    for caller in (viewer, ali):
        with pytest.raises(PermissionDeniedError):
            service.end(city, caller, beas.pk)
    assert service.end(city, admin, beas.pk).ended_at == START


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"asset": "streetlight"}, "no intersection or cabinet"),
        ({"asset": "NOPE"}, "no intersection or cabinet"),
        ({"ends_at": START + HOUR}, "ends_at: must be after starts_at"),
        ({"ends_at": START + HOUR + timedelta(days=7, seconds=1)}, "7 days at most"),
        ({"starts_at": START - 3 * HOUR, "ends_at": START - HOUR}, "already past"),
        ({"who": "nobody-at-all"}, "who: no user"),
        ({"who": "viewer"}, "has no crew role"),
        ({"why": "   "}, "why: 1 to 500"),
        ({"why": "x" * 501}, "why: 1 to 500"),
        ({"work_order_id": 10**9}, "work_order: no work order"),
    ],
)
def test_a_window_that_cannot_be_is_refused(
    rig: tuple[Container, ManualClock], city: City, change: dict[str, object], message: str
) -> None:
    container, _ = rig
    assets = {
        "junction": make_asset(container, city, AssetKind.INTERSECTION).code,
        "streetlight": make_asset(container, city).code,
        "NOPE": "NOPE",
    }
    users = {
        "crew": make_user(container, city, Role.CREW).username,
        "viewer": make_user(container, city, Role.VIEWER).username,
    }
    fields: dict[str, object] = {
        "starts_at": START + HOUR,
        "ends_at": START + 2 * HOUR,
        "who": "crew",
        "why": "lamp",
        "asset": "junction",
    }
    fields.update(change)
    operator = make_user(container, city, Role.OPERATOR)
    asset = assets[str(fields.pop("asset"))]
    fields["who"] = users.get(str(fields["who"]), fields["who"])
    with pytest.raises(InvalidInputError, match=message):
        container.windows.open(city, operator, asset, **fields)  # type: ignore[arg-type]


def test_a_window_may_name_one_of_the_citys_work_orders(
    rig: tuple[Container, ManualClock], city: City
) -> None:
    container, _ = rig
    junction = make_asset(container, city, AssetKind.INTERSECTION)
    operator = make_user(container, city, Role.OPERATOR)
    order = container.maintenance.create_by_hand(
        city, operator, junction.id, title="controller swap", priority=Severity.MAJOR
    )
    window = _open(container, city, junction, operator, work_order_id=order.pk)
    assert window.work_order_id == order.pk
    elsewhere = make_city(container.db)
    other_junction = make_asset(container, elsewhere, AssetKind.INTERSECTION)
    with pytest.raises(InvalidInputError, match="work_order"):
        _open(container, elsewhere, other_junction, make_user(container, elsewhere, Role.CREW),
              work_order_id=order.pk)  # fmt: skip


def test_door_authority_takes_epoch_seconds(rig: tuple[Container, ManualClock], city: City) -> None:
    container, _ = rig
    junction = make_asset(container, city, AssetKind.INTERSECTION)
    window = _open(container, city, junction, make_user(container, city, Role.CREW))
    authority = DoorAuthority(container.windows)
    inside = (START + 2 * HOUR).timestamp()
    assert (authority(city.pk, junction.id, inside) or "").startswith(
        f"maintenance window {window.pk} "
    )
    assert authority(city.pk, junction.id, inside + 3600.0) is None


def test_door_authority_says_unavailable_when_the_database_is_away(tmp_path: Path) -> None:
    """A database that cannot be opened: the check raises the retryable error, not None."""
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'signalight.db'}")
    windows = DoorWindows(
        SqlWindowStore(engine),
        SqlMaintenanceStore(engine),
        Inventory(SqlAssetRepository(engine), SqlImportLog(engine), max_distance_m=1.0),
        SqlUserRepository(engine),
        SqlCityRepository(engine),
        ManualClock(datetime(2026, 1, 1, tzinfo=UTC)),
    )
    with pytest.raises(DoorCheckUnavailableError, match="door check of asset 7 in city 1"):
        DoorAuthority(windows)(1, 7, 1_767_225_600.0)
    engine.dispose()
