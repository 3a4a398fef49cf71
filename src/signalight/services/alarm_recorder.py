"""Storing what the detector decided, one city and then one alarm at a time when a write fails.

The detector decides alarm steps (raise, clear, close, ...) for every city at
once; :class:`AlarmRecorder` stores them so that one step that cannot be
stored never holds back another city's alarms, nor another alarm of the
same city:

- each city's steps go in a transaction of their own;
- when a city's transaction is refused for what it holds (a constraint, a
  value), its steps are stored again alarm by alarm, and the steps of an
  alarm that is still refused are kept as a dead letter (reason
  ``alarm_not_stored``, the steps as JSON) where an operator sees them
  (``signalight deadletters``, the dead-letters API), counted, and dropped;
- when the database is away or busy, the steps are kept in order and tried
  again with the next flush, and the error is raised so that the caller
  can hold back what depends on them (ingest does not acknowledge the batch).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

import orjson

from signalight.domain.errors import StorageUnavailableError
from signalight.domain.readings import RejectReason
from signalight.domain.telemetry import DeadLetter

if TYPE_CHECKING:
    from signalight.domain.alarms import Alarm, AlarmEvent, EventKind
    from signalight.ports import AlarmSink

__all__ = ["AlarmRecorder", "RecorderObserver"]

log = logging.getLogger(__name__)

Step = tuple["Alarm", "EventKind", float]


class RecorderObserver(Protocol):
    """What the recorder reports for metrics."""

    def alarm_steps_rejected(self, count: int) -> None:
        """Steps of one alarm could not be stored and went to the dead letters."""
        ...

    def alarm_store_failed(self) -> None:
        """The database was away; the steps wait for the next try."""
        ...

    def alarm_steps_waiting(self, count: int) -> None:
        """How many steps now wait for the database (told when it changes)."""
        ...


class _NoObserver:
    def alarm_steps_rejected(self, count: int) -> None:
        pass

    def alarm_store_failed(self) -> None:
        pass

    def alarm_steps_waiting(self, count: int) -> None:
        pass


class AlarmRecorder:
    """Stores the detector's alarm steps, isolating a failure to its city, then to its alarm."""

    def __init__(
        self,
        sink: AlarmSink,
        *,
        observer: RecorderObserver | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._sink = sink
        self._wall = wall
        self.observer: RecorderObserver = observer or _NoObserver()
        self._waiting: list[Step] = []  # kept while the database was away, oldest first
        self.rejected = 0  # steps sent to the dead letters since start

    @property
    def waiting(self) -> int:
        """Steps kept for the next try because the database was away."""
        return len(self._waiting)

    def record(self, steps: Sequence[Step]) -> list[AlarmEvent]:
        """Store the waiting steps, then ``steps``; returns the events stored.

        Raises:
            StorageUnavailableError: the database was away for some city; its
                steps are kept (in order) and tried again at the next call,
                after every other city's were stored.
        """
        todo = self._waiting + list(steps)
        waited = len(self._waiting)
        self._waiting = []
        if not todo:
            return []
        by_city: dict[int, list[Step]] = {}
        for step in todo:
            by_city.setdefault(step[0].city_id, []).append(step)
        events: list[AlarmEvent] = []
        away: StorageUnavailableError | None = None
        for city_steps in by_city.values():
            try:
                events += self._sink.record(city_steps)
            except StorageUnavailableError as exc:
                self._waiting += city_steps
                away = exc
            except Exception as exc:  # noqa: BLE001 - whatever it is, it is this city's steps'
                log.warning(
                    "city %d: storing %d alarm steps failed (%s); storing them alarm by alarm",
                    city_steps[0][0].city_id,
                    len(city_steps),
                    exc,
                )
                try:
                    events += self._one_by_one(city_steps)
                except StorageUnavailableError as exc2:
                    away = exc2
        if len(self._waiting) != waited:
            self.observer.alarm_steps_waiting(len(self._waiting))
        if away is not None:
            self.observer.alarm_store_failed()
            raise away
        return events

    def _one_by_one(self, steps: list[Step]) -> list[AlarmEvent]:
        """Each alarm's steps in a transaction of their own; a refused alarm is a dead letter."""
        by_alarm: dict[int, list[Step]] = {}
        for step in steps:
            by_alarm.setdefault(id(step[0]), []).append(step)
        events: list[AlarmEvent] = []
        groups = list(by_alarm.values())
        for index, group in enumerate(groups):
            try:
                try:
                    events += self._sink.record(group)
                except StorageUnavailableError:
                    raise
                except Exception as exc:  # noqa: BLE001 - kept with its reason, never retried
                    self._reject(group, exc)
            except StorageUnavailableError:  # from the record or from the dead letter
                for rest in groups[index:]:
                    self._waiting += rest
                raise
        return events

    def _reject(self, group: list[Step], exc: Exception) -> None:
        alarm = group[0][0]
        where = alarm.asset_code or alarm.device_uid or "-"
        kinds = ", ".join(str(kind) for _, kind, _ in group)
        letter = DeadLetter.of(
            received_at=self._wall(),
            topic=f"alarms/{alarm.type}/{where}",
            reason=RejectReason.ALARM_NOT_STORED,
            message=f"{alarm.type} alarm on {where} ({kinds}) not stored: {exc}",
            payload=_steps_json(group),
            city_id=alarm.city_id,
            device_uid=alarm.device_uid,
        )
        self._sink.reject([letter])  # StorageUnavailableError: the caller keeps the steps
        self.rejected += len(group)
        self.observer.alarm_steps_rejected(len(group))
        log.error(
            "city %d: %s alarm on %s not stored, kept as a dead letter: %s",
            alarm.city_id,
            alarm.type,
            where,
            exc,
        )


def _steps_json(group: list[Step]) -> bytes:
    """The alarm as it was decided and its steps, for the operator (and a replay)."""
    body = {
        "alarm": dataclasses.asdict(group[0][0]),
        "steps": [{"kind": str(kind), "at": at} for _, kind, at in group],
    }
    return orjson.dumps(body, default=str)
