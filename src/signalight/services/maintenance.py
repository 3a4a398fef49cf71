"""Work orders for people: made from alarms and incidents, assigned, worked, finished, confirmed.

Every method takes the city the caller was allowed into and the caller:
a viewer reads every order; a crew member reads and works only the orders
assigned to them (403 otherwise); an operator makes, assigns, works and
cancels any. Confirming repairs and the cabinet-door check live in
:mod:`signalight.services.repairs`; this class hands them on.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from signalight.domain.alarms import AlarmState, Severity
from signalight.domain.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from signalight.domain.maintenance import (
    ACTIVE_ORDER_STATES,
    NOTE_MAX,
    TITLE_MAX,
    Incident,
    Part,
    Photo,
    ServiceLevels,
    Step,
    WorkOrder,
    WorkOrderDetail,
    WorkOrderNote,
    WorkOrderQuery,
    WorkOrderState,
    next_state,
    takes_orders,
)
from signalight.domain.users import Role, User
from signalight.services.auth import require_role
from signalight.services.incidents import Incidents, ServiceLevelsView
from signalight.services.photos import clean_photo
from signalight.services.repairs import Repairs

if TYPE_CHECKING:
    from signalight.domain.assets import Page
    from signalight.domain.cities import City
    from signalight.ports import Clock, UserRepository
    from signalight.ports.maintenance import MaintenanceStore
    from signalight.services.alarms import AlarmService
    from signalight.services.inventory import Inventory

__all__ = ["MaintenanceService", "ServiceLevelsView"]

log = logging.getLogger(__name__)

MAX_PHOTOS: Final = 20  # per order: enough for a job, bounded for the database


class MaintenanceService:
    """A city's incidents and work orders, with the roles that may act on them.

    Args:
        store: Where incidents and orders are kept.
        alarms: The alarm service: alarms are read and closed through it, so
            their history and the live stream show what an order did.
        inventory: The inventory service: a lamp part sets the asset's lamp date.
        users: To check that an order's crew has a role in the city.
        repairs: Confirms finished orders' repairs (shared with the detection hook).
        clock: The time of every step.
    """

    def __init__(
        self,
        store: MaintenanceStore,
        alarms: AlarmService,
        inventory: Inventory,
        users: UserRepository,
        repairs: Repairs,
        clock: Clock,
    ) -> None:
        self._store = store
        self._alarms = alarms
        self._inventory = inventory
        self._users = users
        self._clock = clock
        self.repairs = repairs
        self.incident_book = Incidents(store, alarms, clock)

    # Service levels.

    def service_levels(self, city: City) -> ServiceLevelsView:
        """The hours from creation to due per priority, in force in the city."""
        return self.incident_book.service_levels(city)

    def set_service_levels(self, city: City, overrides: Mapping[str, Any]) -> ServiceLevelsView:
        """Replace the city's overrides (priority word -> hours); InvalidInputError if bad."""
        return self.incident_book.set_service_levels(city, overrides)

    # Incidents.

    def incidents(
        self, city: City, *, open_only: bool, before: int | None, limit: int
    ) -> Page[Incident]:
        """The city's incidents, newest first."""
        return self.incident_book.incidents(city, open_only=open_only, before=before, limit=limit)

    def incident(self, city: City, incident_id: int) -> Incident:
        """One incident of the city; NotFoundError if none."""
        return self.incident_book.incident(city, incident_id)

    # Making orders.

    def create_from_alarm(
        self,
        city: City,
        user: User,
        alarm_id: int,
        *,
        title: str | None = None,
        priority: Severity | None = None,
        crew: str | None = None,
    ) -> WorkOrder:
        """An order for an alarm's incident (operator); the priority is the alarm's severity.

        Raises:
            NotFoundError: No such alarm in the city.
            ConflictError: The alarm is closed.
            InvalidInputError: The alarm is on no asset (a device bound to none).
        """
        require_role(user, city, Role.OPERATOR)
        alarm = self._alarms.get(city, alarm_id)
        if alarm.state is AlarmState.CLOSED:
            raise ConflictError(f"alarm {alarm_id} is closed; there is nothing to repair")
        if alarm.asset_id is None:
            raise InvalidInputError(f"alarm {alarm_id} is on no asset; make the order by hand")
        incident = self.incident_book.incident_for(city, alarm)
        default = f"{alarm.type} on {alarm.asset_code or alarm.asset_id}"
        return self._create(
            city, user, alarm.asset_id, title or default, priority or alarm.severity, crew, incident
        )

    def create_from_incident(
        self,
        city: City,
        user: User,
        incident_id: int,
        *,
        title: str | None = None,
        priority: Severity | None = None,
        crew: str | None = None,
    ) -> WorkOrder:
        """An order for an open incident (operator), major unless told; 409 once it is closed."""
        require_role(user, city, Role.OPERATOR)
        incident = self._store.get_incident(city.pk, incident_id)
        if not incident.open:
            raise ConflictError(f"incident {incident_id} is closed")
        if incident.asset_id is None:
            raise InvalidInputError(f"incident {incident_id} has no asset any more")
        default = f"incident {incident_id}"
        return self._create(
            city,
            user,
            incident.asset_id,
            title or default,
            priority or Severity.MAJOR,
            crew,
            incident,
        )

    def create_by_hand(
        self,
        city: City,
        user: User,
        asset_id: int,
        *,
        title: str,
        priority: Severity,
        crew: str | None = None,
    ) -> WorkOrder:
        """An order on an asset with no alarm (operator): nothing waits for telemetry."""
        require_role(user, city, Role.OPERATOR)
        return self._create(city, user, asset_id, title, priority, crew, None)

    def _create(
        self,
        city: City,
        user: User,
        asset_id: int,
        title: str,
        priority: Severity,
        crew: str | None,
        incident: Incident | None,
    ) -> WorkOrder:
        asset = self._inventory.asset(city, asset_id)  # NotFoundError for another city's
        title = title.strip()
        if not title or len(title) > TITLE_MAX:
            raise InvalidInputError(f"title: 1 to {TITLE_MAX} characters")
        if crew is not None:
            self._check_crew(city, crew)
        now = self._now()
        levels = ServiceLevels().merged(self._store.service_overrides(city.pk))
        order = self._store.add_work_order(
            WorkOrder(
                city_id=city.pk,
                incident_id=None if incident is None else incident.id,
                asset_id=asset.id,
                asset_code=asset.code,
                title=title,
                priority=priority,
                crew=crew,
                state=WorkOrderState.OPEN if crew is None else WorkOrderState.ASSIGNED,
                due_at=levels.due(priority, now),
                created_at=now,
                created_by=user.username,
                updated_at=now,
            )
        )
        log.info(
            "work order %s on %s in %s made by %s", order.id, asset.code, city.slug, user.username
        )
        return order

    # Reading.

    def query(self, city: City, user: User, query: WorkOrderQuery) -> Page[WorkOrder]:
        """The orders that match, newest first; a crew member's own only."""
        if require_role(user, city, Role.VIEWER) is Role.CREW:
            if query.crew not in (None, user.username):
                raise PermissionDeniedError("a crew member sees only the orders assigned to them")
            query = dataclasses.replace(query, crew=user.username)
        return self._store.query_work_orders(city.pk, query)

    def get(self, city: City, user: User, order_id: int) -> WorkOrder:
        """One order; 403 for a crew member's read of another crew's order."""
        role = require_role(user, city, Role.VIEWER)
        order = self._store.get_work_order(city.pk, order_id)
        if role is Role.CREW and order.crew != user.username:
            raise PermissionDeniedError(f"work order {order_id} is not assigned to you")
        return order

    def detail(self, city: City, user: User, order_id: int) -> WorkOrderDetail:
        """One order with its notes and photos."""
        order = self.get(city, user, order_id)
        return WorkOrderDetail(
            order,
            self._store.notes(city.pk, order_id),
            self._store.photos(city.pk, order_id),
        )

    def photo(self, city: City, user: User, order_id: int, photo_id: int) -> Photo:
        """One photo of an order, with its bytes."""
        self.get(city, user, order_id)
        return self._store.get_photo(city.pk, order_id, photo_id)

    def counts(self, city: City, now: datetime | None = None) -> tuple[int, int]:
        """(open, past_due): the KPI page's counts."""
        return self._store.counts(city.pk, now or self._now())

    # Steps.

    def assign(self, city: City, user: User, order_id: int, crew: str) -> WorkOrder:
        """Give the order to a crew member (operator); reassigning keeps its state."""
        require_role(user, city, Role.OPERATOR)
        self._check_crew(city, crew)
        order = self._store.get_work_order(city.pk, order_id)
        state = next_state(order.state, Step.ASSIGN)
        return self._step(city, order, {"crew": crew, "state": state}, user, Step.ASSIGN)

    def start(self, city: City, user: User, order_id: int) -> WorkOrder:
        """The crew is on site (its crew or an operator)."""
        order = self.workable(city, user, order_id)
        state = next_state(order.state, Step.START)
        return self._step(
            city, order, {"state": state, "started_at": self._now()}, user, Step.START
        )

    def cancel(self, city: City, user: User, order_id: int, note: str = "") -> WorkOrder:
        """Drop the order (operator); its incident's alarms stay as they are."""
        require_role(user, city, Role.OPERATOR)
        order = self._store.get_work_order(city.pk, order_id)
        state = next_state(order.state, Step.CANCEL)
        done = self._step(city, order, {"state": state}, user, Step.CANCEL)
        if note.strip():
            self._note(city, done, user, note)
        return done

    def add_note(self, city: City, user: User, order_id: int, text: str) -> WorkOrderNote:
        """A note on the order (its crew or an operator), in any state."""
        order = self.workable(city, user, order_id)
        return self._note(city, order, user, text)

    def add_photo(self, city: City, user: User, order_id: int, data: bytes) -> Photo:
        """A photo of the job (its crew or an operator), stored without its metadata.

        Raises:
            InvalidInputError: Not a JPEG, PNG or WebP image, too large, or
                the order has ``MAX_PHOTOS`` already.
        """
        order = self.workable(city, user, order_id)
        if len(self._store.photos(city.pk, order.pk)) >= MAX_PHOTOS:
            raise InvalidInputError(f"work order {order_id} has {MAX_PHOTOS} photos already")
        clean = clean_photo(data)
        photo = Photo(
            work_order_id=order.pk,
            at=self._now(),
            author=user.username,
            media_type=clean.media_type,
            width=clean.width,
            height=clean.height,
            data=clean.data,
        )
        return self._store.add_photo(city.pk, photo)

    def finish(
        self, city: City, user: User, order_id: int, parts: Sequence[Part] = (), note: str = ""
    ) -> WorkOrder:
        """The crew is done (its crew or an operator); then the repair is confirmed if it can be.

        A ``lamp`` part sets the asset's ``lamp_changed_on`` to the finish
        date in the city's time zone. The incident's cleared alarms are
        closed by the order; the order is ``confirmed`` if none is still
        active, else ``not_confirmed`` until they clear.
        """
        order = self.workable(city, user, order_id)
        state = next_state(order.state, Step.FINISH)  # 409 before anything changes
        now = self._now()
        if note.strip():
            self._note(city, order, user, note)
        self.repairs.record_lamp(city, order, parts, now)
        done = self._step(
            city,
            order,
            {"state": state, "finished_at": now, "parts": tuple(parts)},
            user,
            Step.FINISH,
        )
        return self.repairs.confirm(city, done)

    def confirm_repairs(self, city_pk: int) -> list[WorkOrder]:
        """Confirm the city's finished orders whose alarms have cleared since (see Repairs)."""
        return self.repairs.confirm_repairs(city_pk)

    def door_authorised(self, city_pk: int, asset_id: int, at: datetime) -> WorkOrder | None:
        """The order that authorises opening this cabinet's door at ``at``, if any (see Repairs)."""
        return self.repairs.door_authorised(city_pk, asset_id, at)

    # Helpers.

    def workable(self, city: City, user: User, order_id: int) -> WorkOrder:
        """The order, if the caller may work it: its crew, or an operator and up.

        The API asks before a photo is read, so that nobody without the right sends 8 MB first.
        """
        role = require_role(user, city, Role.CREW)
        order = self._store.get_work_order(city.pk, order_id)
        if role is Role.CREW and order.crew != user.username:
            raise PermissionDeniedError(f"work order {order_id} is not assigned to you")
        return order

    def crew(self, city: City) -> list[User]:
        """Who may be given an order in the city: enabled users above viewer, by name."""
        found = [user for user in self._users.list_users(city.pk) if takes_orders(user, city.pk)]
        return sorted(found, key=lambda user: user.username)

    def _check_crew(self, city: City, crew: str) -> None:
        try:
            found, _ = self._users.get_user(crew)
        except NotFoundError as exc:  # said as a bad value of the body
            raise InvalidInputError(f"crew: no user {crew!r}") from exc
        if not takes_orders(found, city.pk):
            raise InvalidInputError(f"crew: {crew!r} has no crew role in {city.slug!r}")

    def _step(
        self, city: City, order: WorkOrder, changes: dict[str, Any], user: User, step: Step
    ) -> WorkOrder:
        expected = ACTIVE_ORDER_STATES if step is Step.CANCEL else {order.state}
        done = self._store.update_work_order(
            city.pk, order.pk, expected, {**changes, "updated_at": self._now()}
        )
        log.info("work order %s of %s: %s by %s", order.pk, city.slug, step, user.username)
        return done

    def _note(self, city: City, order: WorkOrder, user: User, text: str) -> WorkOrderNote:
        text = text.strip()
        if not text or len(text) > NOTE_MAX:
            raise InvalidInputError(f"note: 1 to {NOTE_MAX} characters")
        note = WorkOrderNote(
            work_order_id=order.pk, at=self._now(), author=user.username, text=text
        )
        return self._store.add_note(city.pk, note)

    def _now(self) -> datetime:
        return self._clock.now()
