"""Maintenance windows, and what authorises opening a traffic-signal cabinet's door.

A cabinet door opened with nothing authorising it is ``doorOpenUnauthorised``
(critical). Two things authorise it: a maintenance window on the
intersection or on the cabinet that feeds it (made here, by an operator, or
by a work order), and a work order assigned or in progress on one of them
(:meth:`Repairs.door_authorised`'s rule). :class:`DoorAuthority` is the
cheap callable the detector asks when a door opens.

Roles: an operator or admin opens a window and ends any; a crew member
reads only the windows naming them and may end their own; a viewer reads
every window. Each change is kept in the audit log with the window.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from signalight.domain.assets import Asset, AssetKind, AssetQuery
from signalight.domain.errors import (
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    StorageError,
    StorageUnavailableError,
)
from signalight.domain.maintenance import DOOR_GRACE, WorkOrder, takes_orders
from signalight.domain.users import Role, User
from signalight.domain.windows import WHY_MAX, MaintenanceWindow, WindowQuery, check_span
from signalight.services.auth import require_role

if TYPE_CHECKING:
    from signalight.domain.assets import Page
    from signalight.domain.cities import City
    from signalight.ports import CityRepository, Clock, UserRepository
    from signalight.ports.maintenance import MaintenanceStore
    from signalight.ports.windows import WindowStore
    from signalight.services.inventory import Inventory

__all__ = ["DoorAuthority", "DoorCheckUnavailableError", "DoorWindows"]

log = logging.getLogger(__name__)

# The assets whose cabinet door a window may cover.
DOOR_KINDS: Final = frozenset({AssetKind.INTERSECTION, AssetKind.CABINET})
_SHORT_WHY: Final = 60  # characters of ``why`` in the text an alarm carries
_MAX_SERVED: Final = 1000  # intersections one cabinet feeds, far above any real one


class DoorCheckUnavailableError(StorageUnavailableError):
    """Whether a door opening was authorised could not be read: ask again later.

    Raised by :class:`DoorAuthority` when the database fails; the cause is
    chained. Not answering ``None`` instead is deliberate: that would raise
    a false break-in alarm every time the database blinks.
    """


class DoorWindows:
    """A city's maintenance windows, with the roles that may act on them, and the door check.

    Args:
        store: Where windows are kept.
        orders: The work orders, whose assigned or in-progress ones authorise a door too.
        inventory: The assets: a window's intersection or cabinet, and what a cabinet feeds.
        users: To check that the window's person has a role in the city.
        cities: To find the city (and its time zone) of a door check by its key.
        clock: The time of every change.
    """

    def __init__(
        self,
        store: WindowStore,
        orders: MaintenanceStore,
        inventory: Inventory,
        users: UserRepository,
        cities: CityRepository,
        clock: Clock,
    ) -> None:
        self._store = store
        self._orders = orders
        self._inventory = inventory
        self._users = users
        self._cities = cities
        self._clock = clock

    def open(
        self,
        city: City,
        user: User,
        asset_code: str,
        starts_at: datetime,
        ends_at: datetime,
        *,
        who: str,
        why: str,
        work_order_id: int | None = None,
    ) -> MaintenanceWindow:
        """Open a window on an intersection or cabinet of the city (operator and up).

        Raises:
            PermissionDeniedError: The caller is below operator.
            InvalidInputError: No such intersection or cabinet, a span that is
                unordered, longer than ``MAX_WINDOW`` or over, ``who`` not a
                user who may work in the city, ``why`` empty or too long, or
                no such work order in the city.
        """
        require_role(user, city, Role.OPERATOR)
        asset = self._door_asset(city, asset_code)
        starts_at, ends_at = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
        now = self._clock.now()
        check_span(starts_at, ends_at, now)
        self._check_who(city, who)
        why = why.strip()
        if not why or len(why) > WHY_MAX:
            raise InvalidInputError(f"why: 1 to {WHY_MAX} characters")
        if work_order_id is not None:
            try:
                self._orders.get_work_order(city.pk, work_order_id)
            except NotFoundError:
                raise InvalidInputError(f"work_order: no work order {work_order_id}") from None
        window = self._store.add_window(
            MaintenanceWindow(
                city_id=city.pk,
                asset_id=asset.id,
                asset_code=asset.code,
                starts_at=starts_at,
                ends_at=ends_at,
                who=who,
                why=why,
                work_order_id=work_order_id,
                created_by=user.username,
                created_at=now,
            )
        )
        log.info(
            "maintenance window %s on %s in %s for %s opened by %s",
            window.id, asset.code, city.slug, who, user.username,
        )  # fmt: skip
        return window

    def asset_id(self, city: City, code: str) -> int:
        """The id of the city's asset with this code, for a filter; InvalidInputError if none."""
        found = self._inventory.asset_by_code(city, code)
        if found is None:
            raise InvalidInputError(f"asset: no asset {code!r} in {city.slug!r}")
        return found.id

    def query(self, city: City, user: User, query: WindowQuery) -> Page[MaintenanceWindow]:
        """The windows that match, newest first; a crew member's own only."""
        if require_role(user, city, Role.VIEWER) is Role.CREW:
            if query.who not in (None, user.username):
                raise PermissionDeniedError("a crew member sees only the windows naming them")
            query = dataclasses.replace(query, who=user.username)
        return self._store.query_windows(city.pk, query)

    def get(self, city: City, user: User, window_id: int) -> MaintenanceWindow:
        """One window; 403 for a crew member's read of a window naming someone else."""
        role = require_role(user, city, Role.VIEWER)
        window = self._store.get_window(city.pk, window_id)
        if role is Role.CREW and window.who != user.username:
            raise PermissionDeniedError(f"maintenance window {window_id} is not yours")
        return window

    def end(self, city: City, user: User, window_id: int) -> MaintenanceWindow:
        """End a window now (an operator, or the crew member it names); 409 if it is over."""
        role = require_role(user, city, Role.CREW)
        window = self._store.get_window(city.pk, window_id)
        if role is Role.CREW and window.who != user.username:
            raise PermissionDeniedError(f"maintenance window {window_id} is not yours")
        ended = self._store.end_window(
            city.pk, window_id, actor=user.username, at=self._clock.now()
        )
        log.info("maintenance window %s of %s ended by %s", window_id, city.slug, user.username)
        return ended

    def authorises(self, city_pk: int, asset_id: int, at: datetime) -> str | None:
        """What authorises opening the cabinet door of this asset at ``at``, as a short text.

        For an intersection: a window on it or on its cabinet that covers
        ``at``, else a work order assigned or in progress on either within
        ``[created_at, due_at + DOOR_GRACE]``. For a cabinet: the same on it
        or on any intersection it feeds. None when nothing does (or the
        asset or city is gone). Storage errors propagate.
        """
        found = self._cities.list_cities([city_pk])
        if not found:
            return None
        city = found[0]
        try:
            asset = self._inventory.asset(city, asset_id)
        except NotFoundError:
            return None
        ids = self._door_assets(city, asset)
        zone = ZoneInfo(city.timezone)
        windows = self._store.covering(city.pk, ids, at)
        if windows:
            return describe_window(windows[0], zone)
        orders = self._orders.door_orders(city.pk, ids, at, DOOR_GRACE.total_seconds())
        return describe_order(orders[0], zone) if orders else None

    def _door_assets(self, city: City, asset: Asset) -> list[int]:
        """The assets whose window or order opens this asset's cabinet door."""
        if asset.kind is AssetKind.INTERSECTION:
            return [asset.id] if asset.cabinet_id is None else [asset.id, asset.cabinet_id]
        if asset.kind is AssetKind.CABINET:
            query = AssetQuery(kind=AssetKind.INTERSECTION, cabinet_id=asset.id, limit=_MAX_SERVED)
            return [asset.id, *(a.id for a in self._inventory.assets(city, query).items)]
        return [asset.id]

    def _door_asset(self, city: City, code: str) -> Asset:
        asset = self._inventory.asset_by_code(city, code)
        if asset is None or asset.kind not in DOOR_KINDS:
            raise InvalidInputError(f"asset: no intersection or cabinet {code!r} in {city.slug!r}")
        return asset

    def _check_who(self, city: City, who: str) -> None:
        try:
            found, _ = self._users.get_user(who)
        except NotFoundError:  # said as a bad value of the body
            raise InvalidInputError(f"who: no user {who!r}") from None
        if not takes_orders(found, city.pk):
            raise InvalidInputError(f"who: {who!r} has no crew role or above in {city.slug!r}")


class DoorAuthority:
    """The detector's door check: ``(city_pk, asset_id, at)`` → what authorises it, or None.

    ``at`` is the door-open event's time in UTC epoch seconds. One query or
    three per call, made only when a door opens. It answers a text such as
    ``"maintenance window 12 (crew ali: replace lamp), 10:00-12:00"`` or
    None, and raises nothing but :class:`DoorCheckUnavailableError` (the
    database failed: the caller retries, and must not call the opening
    unauthorised meanwhile). Safe to call from the detection thread.
    """

    def __init__(self, windows: DoorWindows) -> None:
        self._windows = windows

    def __call__(self, city_pk: int, asset_id: int, at: float) -> str | None:
        """What authorises opening the door of ``asset_id`` at ``at``, or None."""
        when = datetime.fromtimestamp(at, UTC)
        try:
            return self._windows.authorises(city_pk, asset_id, when)
        except StorageError as exc:
            log.warning("door check of asset %s in city %s failed: %s", asset_id, city_pk, exc)
            message = f"door check of asset {asset_id} in city {city_pk}: {exc}"
            raise DoorCheckUnavailableError(message) from exc


def describe_window(window: MaintenanceWindow, zone: ZoneInfo) -> str:
    """The short text of a window, its times in the city's zone."""
    start, end = window.starts_at.astimezone(zone), window.closes_at.astimezone(zone)
    if start.date() == end.date():
        span = f"{start:%H:%M}-{end:%H:%M}"
    else:
        span = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"
    return f"maintenance window {window.pk} ({_crew_why(window.who, window.why)}), {span}"


def describe_order(order: WorkOrder, zone: ZoneInfo) -> str:
    """The short text of a work order that authorises a door, its due time in the city's zone."""
    due = order.due_at.astimezone(zone)
    return f"work order {order.pk} ({_crew_why(order.crew or '-', order.title)}), due {due:%H:%M}"


def _crew_why(who: str, why: str) -> str:
    short = why if len(why) <= _SHORT_WHY else why[: _SHORT_WHY - 3] + "..."
    return f"crew {who}: {short}"
