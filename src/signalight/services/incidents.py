"""Incidents and service levels: what a work order is made for, and by when it is due."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from signalight.domain.alarms import ACTIVE_STATES, Alarm, AlarmQuery, AlarmState, Severity
from signalight.domain.maintenance import ServiceLevels

if TYPE_CHECKING:
    from signalight.domain.assets import Page
    from signalight.domain.cities import City
    from signalight.domain.maintenance import Incident
    from signalight.ports import Clock
    from signalight.ports.maintenance import MaintenanceStore
    from signalight.services.alarms import AlarmService

__all__ = ["Incidents", "ServiceLevelsView"]

log = logging.getLogger(__name__)

PAGE: Final = 1000


@dataclass(frozen=True, slots=True)
class ServiceLevelsView:
    """A city's service levels in force (hours per priority), and what the city changed."""

    hours: dict[str, float]
    overrides: dict[str, float]


class Incidents:
    """A city's incidents (listed, read, opened for an alarm) and its service levels."""

    def __init__(self, store: MaintenanceStore, alarms: AlarmService, clock: Clock) -> None:
        self._store = store
        self._alarms = alarms
        self._clock = clock

    def incidents(
        self, city: City, *, open_only: bool, before: int | None, limit: int
    ) -> Page[Incident]:
        """The city's incidents, newest first."""
        return self._store.query_incidents(
            city.pk, open_only=open_only, before_id=before, limit=limit
        )

    def incident(self, city: City, incident_id: int) -> Incident:
        """One incident of the city; NotFoundError if none."""
        return self._store.get_incident(city.pk, incident_id)

    def incident_for(self, city: City, alarm: Alarm) -> Incident:
        """The open incident holding ``alarm``, or a new one grouping it with what belongs.

        A new incident holds the alarm, the alarms held under it (a cabinet
        outage's lights) and its asset's other active alarms.
        """
        found = self._store.incident_of_alarm(city.pk, alarm.pk)
        if found is not None:
            return found
        ids = [alarm.pk]
        ids += [a.pk for a in self._all(city, AlarmQuery(parent_id=alarm.pk, include_held=True))]
        if alarm.asset_id is not None:
            query = AlarmQuery(asset_id=alarm.asset_id, states=frozenset(ACTIVE_STATES))
            ids += [a.pk for a in self._all(city, query)]
        return self._store.open_incident(city.pk, alarm.asset_id, ids, self._clock.now())

    def _all(self, city: City, query: AlarmQuery) -> list[Alarm]:
        found: list[Alarm] = []
        before: int | None = None
        while True:
            page = self._alarms.query(
                city,
                AlarmQuery(
                    states=query.states or frozenset(AlarmState),
                    asset_id=query.asset_id,
                    parent_id=query.parent_id,
                    include_held=True,
                    before_id=before,
                    limit=PAGE,
                ),
            )
            found += page.items
            if page.next_after is None:
                return found
            before = page.next_after

    def service_levels(self, city: City) -> ServiceLevelsView:
        """The hours from creation to due per priority, in force in the city."""
        overrides = self._store.service_overrides(city.pk)
        levels = ServiceLevels().merged(overrides)
        return ServiceLevelsView({str(k): v for k, v in levels.hours.items()}, overrides)

    def set_service_levels(self, city: City, overrides: Mapping[str, Any]) -> ServiceLevelsView:
        """Replace the city's overrides (priority word -> hours); InvalidInputError if bad."""
        levels = ServiceLevels().merged(dict(overrides))
        canonical = {str(Severity(k)): levels.hours[Severity(k)] for k in overrides}
        self._store.set_service_overrides(city.pk, canonical, self._clock.now())
        log.info("service levels of city %s set: %s", city.slug, ", ".join(sorted(canonical)))
        return self.service_levels(city)
