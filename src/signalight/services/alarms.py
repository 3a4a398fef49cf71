"""Alarms for people: lists, history, the operator's steps, counts, the live feed, settings.

Every method takes the city the caller was allowed into, so no read or
step can cross tenants. Operators act with :meth:`AlarmService.acknowledge`,
:meth:`AlarmService.add_note` and :meth:`AlarmService.close`; the store
guards each step by the state it expects, so an operator and the detector
never overwrite each other (a step that lost the race is a ConflictError).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import time as time_of_day
from typing import TYPE_CHECKING, Final

import anyio.to_thread

from signalight.domain.alarms import (
    ACTIVE_STATES,
    Alarm,
    AlarmEvent,
    AlarmQuery,
    AlarmState,
    AlarmType,
    EventKind,
    Severity,
)
from signalight.domain.assets import LuminaireType
from signalight.domain.errors import NotFoundError, StorageError
from signalight.domain.faults import DetectionSettings, PowerCurve

if TYPE_CHECKING:
    from signalight.domain.assets import Page
    from signalight.domain.cities import City
    from signalight.ports import AlarmStore, Clock

__all__ = ["AlarmCounts", "AlarmService", "DetectionSettingsView", "FeedItem"]

log = logging.getLogger(__name__)

FEED_BATCH: Final = 200  # events read per poll; a fuller backlog is read without waiting


@dataclass(frozen=True, slots=True)
class AlarmCounts:
    """How many of a city's alarms there are per type and severity, in some states."""

    states: frozenset[AlarmState]
    rows: list[tuple[AlarmType, Severity, int]]

    @property
    def total(self) -> int:
        """All of them."""
        return sum(n for _, _, n in self.rows)

    def by_type(self) -> dict[AlarmType, int]:
        """Every type, with 0 for those that have none."""
        out = dict.fromkeys(AlarmType, 0)
        for kind, _, n in self.rows:
            out[kind] += n
        return out

    def by_severity(self) -> dict[Severity, int]:
        """Every severity, most urgent first, with 0 for those that have none."""
        out = dict.fromkeys(sorted(Severity, key=lambda s: s.rank), 0)
        for _, severity, n in self.rows:
            out[severity] += n
        return out


@dataclass(frozen=True, slots=True)
class DetectionSettingsView:
    """A city's detection settings: every value in force, and what the city changed."""

    effective: dict[str, object]
    overrides: dict[str, object]


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One event of the live feed, with its alarm as it is when the event is sent."""

    event: AlarmEvent
    alarm: Alarm | None  # None if the alarm is gone (its city was removed)


class AlarmService:
    """A city's alarms as operators and dashboards use them.

    Args:
        store: Where alarms and their events are kept.
        clock: The time of operators' steps.
        poll_interval_s: How often the live feed looks for new events.
        heartbeat_s: How long the live feed may stay silent before it says
            it is still there (proxies drop idle connections).
    """

    def __init__(
        self,
        store: AlarmStore,
        clock: Clock,
        *,
        poll_interval_s: float = 1.0,
        heartbeat_s: float = 15.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self.poll_interval_s = poll_interval_s
        self.heartbeat_s = heartbeat_s

    # Reading.

    def query(self, city: City, query: AlarmQuery) -> Page[Alarm]:
        """The city's alarms that match, newest first; ``next_after`` is the id to go before."""
        return self._store.query_alarms(city.pk, query)

    def get(self, city: City, alarm_id: int) -> Alarm:
        """One alarm of the city; NotFoundError if the city has no such alarm."""
        return self._store.get_alarm(city.pk, alarm_id)

    def history(self, city: City, alarm_id: int) -> list[AlarmEvent]:
        """One alarm's events, oldest first; NotFoundError if the city has no such alarm."""
        return self._store.history(city.pk, alarm_id)

    def counts(self, city: City, states: Collection[AlarmState] | None = None) -> AlarmCounts:
        """How many alarms the city has per type and severity (held ones not counted).

        Args:
            city: Whose alarms.
            states: Which states count; by default the active ones (raised
                and acknowledged).
        """
        wanted = frozenset(states) if states else frozenset(ACTIVE_STATES)
        rows = [
            (kind, Severity(severity), n)
            for kind, severity, n in self._store.alarm_counts(city.pk, wanted)
        ]
        return AlarmCounts(wanted, rows)

    # The operator's steps.

    def acknowledge(self, city: City, alarm_id: int, user: str, note: str = "") -> Alarm:
        """Take an alarm: the team knows of it. ConflictError if closed or taken already."""
        return self._act(city, alarm_id, EventKind.ACKNOWLEDGED, user, note)

    def add_note(self, city: City, alarm_id: int, user: str, note: str) -> Alarm:
        """Add a note to an alarm's history; InvalidInputError if the note is blank."""
        return self._act(city, alarm_id, EventKind.NOTED, user, note)

    def close(self, city: City, alarm_id: int, user: str, note: str = "") -> Alarm:
        """Close a cleared alarm; ConflictError while its condition holds or once closed."""
        return self._act(city, alarm_id, EventKind.CLOSED, user, note)

    def _act(self, city: City, alarm_id: int, kind: EventKind, user: str, note: str) -> Alarm:
        at = self._clock.now().timestamp()
        alarm = self._store.act(city.pk, alarm_id, kind, user, at, note.strip())
        log.info("alarm %s of city %s %s by %s", alarm_id, city.slug, kind, user)
        return alarm

    # Detection settings.

    def detection_settings(self, city: City) -> DetectionSettingsView:
        """The settings the fault rules apply in the city, and the city's overrides."""
        overrides = self._store.detection_overrides().get(city.pk, {})
        return DetectionSettingsView(
            effective=settings_json(DetectionSettings().merged(overrides)),
            overrides=dict(overrides),
        )

    def set_detection_settings(
        self, city: City, overrides: Mapping[str, object]
    ) -> DetectionSettingsView:
        """Replace the city's overrides, after checking them against the defaults.

        Each override is stored in its canonical form (a time as ``HH:MM``, a
        whole number as one), so what is read back is what the rules apply.

        Raises:
            InvalidInputError: An override names no setting, has the wrong
                type, or contradicts another threshold.
        """
        merged = DetectionSettings().merged(overrides)
        canonical: dict[str, object] = {}
        for name, sent in overrides.items():
            value = _plain(getattr(merged, name))
            if isinstance(value, dict) and isinstance(sent, Mapping):
                value = {key: value[key] for key in map(str, sent)}  # a map keeps what was named
            canonical[name] = value
        self._store.set_detection_overrides(city.pk, canonical, self._clock.now().timestamp())
        log.info("detection settings of city %s set: %s", city.slug, ", ".join(sorted(canonical)))
        return DetectionSettingsView(effective=settings_json(merged), overrides=canonical)

    # The live feed.

    def feed_start(self, after: int | None) -> int:
        """Where a live feed starts: after ``after``, or after the newest event when None."""
        return self._store.last_event_id() if after is None else after

    async def follow(
        self,
        city_ids: Collection[int],
        after: int,
        *,
        is_open: Callable[[], Awaitable[bool]] | None = None,
        allowed: Callable[[], bool] | None = None,
    ) -> AsyncIterator[FeedItem | None]:
        """The cities' events with ids above ``after``, as they come; None is a heartbeat.

        The store is polled every ``poll_interval_s`` (a backlog is read at
        once); a None comes after ``heartbeat_s`` without an event. The feed
        ends when ``is_open`` (awaited at each poll) says the client left,
        when ``allowed`` (a blocking check, made once per heartbeat period)
        says the caller lost access, or when the store fails.
        """
        cities = list(city_ids)
        cursor = after
        now = time.monotonic()
        last_sent = last_checked = now
        while True:
            if is_open is not None and not await is_open():
                return
            now = time.monotonic()
            if allowed is not None and now - last_checked >= self.heartbeat_s:
                if not await anyio.to_thread.run_sync(allowed):
                    log.info("alarm feed ended: the caller lost access")
                    return
                last_checked = now
            try:
                events = await anyio.to_thread.run_sync(
                    self._store.events_after, cursor, FEED_BATCH, cities
                )
                snapshots = (
                    await anyio.to_thread.run_sync(self._snapshots, events) if events else {}
                )
            except StorageError as exc:
                # The client reconnects after its retry delay and resumes where it was.
                log.warning("alarm feed ended: %s", exc)
                return
            if events:
                for event in events:
                    yield FeedItem(event, snapshots.get(event.alarm_id))
                    cursor = event.id or cursor
                last_sent = time.monotonic()
                if len(events) == FEED_BATCH:
                    continue
            now = time.monotonic()
            if now - last_sent >= self.heartbeat_s:
                yield None
                last_sent = now
            await anyio.sleep(self.poll_interval_s)

    def _snapshots(self, events: list[AlarmEvent]) -> dict[int, Alarm]:
        """Each distinct alarm of a batch of events, read once."""
        found: dict[int, Alarm] = {}
        for event in events:
            if event.alarm_id in found:
                continue
            try:
                found[event.alarm_id] = self._store.get_alarm(event.city_id, event.alarm_id)
            except NotFoundError:
                continue
        return found


def settings_json(settings: DetectionSettings) -> dict[str, object]:
    """Every field of ``settings`` as the JSON the overrides take (times ``HH:MM``).

    Severities and power curves are given for every alarm and luminaire
    type, as the rules look them up (an override names only some).
    """
    out = {f.name: _plain(getattr(settings, f.name)) for f in dataclasses.fields(settings)}
    out["severities"] = {str(kind): str(settings.severity(kind)) for kind in AlarmType}
    out["curves"] = {str(kind): _plain(settings.curve(kind)) for kind in LuminaireType}
    return out


def _plain(value: object) -> object:
    if isinstance(value, time_of_day):
        return value.isoformat(timespec="minutes")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, PowerCurve):
        return [list(point) for point in value.points]
    return value
