"""The life of the detector's alarms: raised, reopened, cleared, closed; the steps to store.

The rules decide *that* a condition holds or ended; :class:`AlarmBook`
decides what that does to the alarm (a new one, the last one reopened, a
cleared one closed once its reopen window passed) and keeps each step, in
order, until :meth:`AlarmBook.flush` hands them to the
:class:`~signalight.services.alarm_recorder.AlarmRecorder`.

An owner is what holds an alarm in the detector's memory (a device's
:class:`Watch`, a cabinet's incident): when a cleared alarm closes, the
book lets go of it there too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from signalight.domain.alarms import Alarm, AlarmState, AlarmType, EventKind
from signalight.services.fault_memory import Cabinet, Watch

if TYPE_CHECKING:
    from signalight.domain.alarms import AlarmEvent
    from signalight.domain.faults import DeviceProfile
    from signalight.services.alarm_recorder import AlarmRecorder
    from signalight.services.fault_memory import CityState

__all__ = ["AlarmBook", "Opening", "Owner"]

Owner = Watch | Cabinet | None


@dataclass(frozen=True, slots=True)
class Opening:
    """What a rule says of an alarm it raises: its type, evidence, words and figures."""

    kind: AlarmType
    t: float  # the time of the evidence that confirmed it (stream time)
    message: str
    detail: dict[str, Any]


class AlarmBook:
    """Opens, reopens, clears and closes alarms, and keeps the steps for the store."""

    def __init__(
        self,
        recorder: AlarmRecorder,
        cities: Mapping[int, CityState],
        wall: Callable[[], float],
    ) -> None:
        self.recorder = recorder
        self._cities = cities
        self._wall = wall
        self._steps: list[tuple[Alarm, EventKind, float]] = []
        # Cleared alarms waiting for their reopen window to pass, with their owner.
        # Alarms are mutable dataclasses compared by value: the book tracks them
        # by identity, which is what a reopened or closed alarm keeps.
        self._settling: dict[int, tuple[Alarm, Owner]] = {}
        self.raised = self.held = self.cleared = 0

    @property
    def pending(self) -> int:
        """Steps decided and not stored yet (waiting for the database included)."""
        return len(self._steps) + self.recorder.waiting

    def settling(self, alarm: Alarm, owner: Owner) -> None:
        """Follow a cleared alarm read back at start (or given an owner since)."""
        self._settling[id(alarm)] = (alarm, owner)

    def now(self, city_id: int, t: float) -> float:
        """The later of ``t`` and the city's clock: a step is never dated before its evidence."""
        city = self._cities.get(city_id)
        return max(t, city.now(self._wall())) if city is not None else t

    def open(
        self,
        city: CityState,
        opening: Opening,
        *,
        device: DeviceProfile | None,
        asset_id: int | None,
        asset_code: str | None,
        current: Alarm | None,
        parent: Alarm | None = None,
    ) -> Alarm:
        """Reopen ``current`` if it cleared lately, else raise a new one (held under ``parent``)."""
        t = opening.t
        at = self.now(city.id, t)
        if current is not None and current.state is AlarmState.CLEARED:
            self._settling.pop(id(current), None)
            cleared_at = current.cleared_at if current.cleared_at is not None else at
            if (
                at - cleared_at <= city.settings.reopen_window_s
                and not current.held
                and parent is None
            ):
                current.state = AlarmState.RAISED
                current.cleared_at = None
                current.occurrences += 1
                current.observed_at, current.updated_at = t, at
                current.message, current.detail = opening.message, opening.detail
                self._steps.append((current, EventKind.REOPENED, at))
                self.raised += 1
                return current
            self.close(current, at)
        alarm = Alarm(
            city_id=city.id,
            type=opening.kind,
            severity=city.settings.severity(opening.kind),
            asset_id=asset_id,
            asset_code=asset_code,
            device_id=device.device_id if device else None,
            device_uid=device.uid if device else None,
            raised_at=at,
            observed_at=t,
            updated_at=at,
            message=opening.message,
            detail=opening.detail,
            held=parent is not None,
            parent_id=parent.id if parent is not None else None,
        )
        self._steps.append((alarm, EventKind.HELD if alarm.held else EventKind.RAISED, at))
        if alarm.held:
            self.held += 1
        else:
            self.raised += 1
        return alarm

    def clear(self, alarm: Alarm, owner: Owner, t: float) -> None:
        """Clear an active alarm (a held one closes at once: nobody was told of it)."""
        at = self.now(alarm.city_id, t)
        alarm.state = AlarmState.CLEARED
        alarm.cleared_at = alarm.updated_at = at
        self._steps.append((alarm, EventKind.CLEARED, at))
        self.cleared += 1
        if alarm.held:
            self.close(alarm, at)
            if isinstance(owner, Watch):
                owner.alarms.pop(alarm.type, None)
        else:
            self._settling[id(alarm)] = (alarm, owner)

    def end(self, alarm: Alarm, owner: Owner, at: float) -> None:
        """Clear and close whatever is open of ``alarm``: what it named is no longer watched."""
        if alarm.active:
            self.clear(alarm, owner, at)
        if alarm.state is AlarmState.CLEARED:
            self.close(alarm, at)

    def close(self, alarm: Alarm, at: float) -> None:
        """Close an alarm (cleared, or left behind by a new one)."""
        alarm.state = AlarmState.CLOSED
        alarm.closed_at = alarm.updated_at = at
        self._steps.append((alarm, EventKind.CLOSED, at))
        self._settling.pop(id(alarm), None)

    def release(self, alarm: Alarm, at: float) -> None:
        """A held alarm stands on its own: its cabinet recovered and its condition stayed."""
        self._steps.append((alarm, EventKind.RELEASED, at))
        self.raised += 1

    def close_settled(self, wall: float) -> None:
        """Close the alarms that stayed cleared for the reopen window; owners let go of them."""
        for alarm, owner in list(self._settling.values()):
            place = self._cities.get(alarm.city_id)
            if place is None or alarm.cleared_at is None:
                continue
            now = place.now(wall)
            if now - alarm.cleared_at <= place.settings.reopen_window_s:
                continue
            self.close(alarm, now)
            if isinstance(owner, Watch) and owner.alarms.get(alarm.type) is alarm:
                del owner.alarms[alarm.type]
            elif isinstance(owner, Cabinet) and owner.incident is alarm:
                owner.incident = None
                owner.held.clear()

    def flush(self, parent_of: Callable[[Alarm], Alarm | None]) -> list[AlarmEvent]:
        """Store the steps decided since the last flush; returns their events.

        Args:
            parent_of: The incident a held alarm hangs under, for one held
                before its incident had an id.

        Raises:
            StorageUnavailableError: the database was away; what it could not
                store is kept and stored first at the next flush.
        """
        if not self._steps and not self.recorder.waiting:
            return []
        steps, self._steps = self._steps, []
        for alarm, kind, _at in steps:
            if kind is EventKind.HELD and alarm.parent_id is None:
                parent = parent_of(alarm)
                alarm.parent_id = parent.id if parent is not None else None
        return self.recorder.record(steps)
