"""The traffic-signal rules: a signal cabinet's monitor and its controller's events.

Each report of a ``signal_monitor`` is read in time order: its events one
instant at a time (a door opened and shut between two reports, a flash the
controller logged and left, each raise and clear at their own times), then
its readings at the report's time. A condition holds when either source says
so (``signal_state.py``). Flash, dark, conflict, the door and the other
states raise on the first report that shows them and clear on the first that
does not: one report of them is beyond doubt, and an operator must know
within one reporting interval. A red lamp out raises on one report and
clears after ``clear_reports`` of its red lit; a low battery is judged as the
lights' rules judge a value (``confirm_reports``, ``clear_reports``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from signalight.domain.alarms import AlarmType
from signalight.domain.errors import StorageError
from signalight.services import signal_text as text
from signalight.services.fault_memory import BAD, GOOD, Due, Watch, below, schedule
from signalight.services.signal_state import (
    PHASE_GREEN,
    PHASE_RED,
    PHASE_YELLOW,
    SignalState,
    event_parameter,
)

if TYPE_CHECKING:
    from signalight.domain.alarms import Alarm
    from signalight.domain.readings import Reading
    from signalight.services.alarm_book import AlarmBook
    from signalight.services.fault_memory import Cabinet
    from signalight.services.verdicts import Judge

__all__ = ["DoorAuthority", "SignalRules"]

log = logging.getLogger(__name__)

# Who authorised a cabinet door opening at an intersection at a time (a maintenance
# window's holder), or None: nobody did.
DoorAuthority = Callable[[int, int, float], str | None]
_STRINGS: Final = frozenset({"mode", "mmu", "door"})
_METER_WAIT: Final = 1.2  # a cabinet meter's intervals a mains failure waits for its word
_GAP_INTERVALS: Final = 2.5  # a longer gap between reports lost some


def _nobody(_city: int, _asset: int, _at: float) -> str | None:
    return None


@dataclass(slots=True)
class _Report:
    """One report's readings, sorted out by what the rules read them for."""

    events: list[Reading] = field(default_factory=list)
    lamps: dict[int, dict[str, float]] = field(default_factory=dict)  # phase: colour: A
    mode: str | None = None
    mmu: str | None = None
    door: str | None = None
    mains: bool | None = None
    battery: float | None = None

    @classmethod
    def of(cls, readings: Iterable[Reading]) -> _Report:
        report = cls()
        for r in readings:
            name = r.name
            if name == "event":
                report.events.append(r)
            elif name.startswith("lamp/"):
                _, phase, colour = name.split("/")
                if r.value is not None:
                    report.lamps.setdefault(int(phase), {})[colour] = r.value
            elif name in _STRINGS:
                setattr(report, name, r.string_value)
            elif name == "mains":
                report.mains = r.bool_value
            elif name == "battery":
                report.battery = r.value
        return report


class SignalRules:
    """The rules of a signal cabinet's reports; one :class:`SignalState` per monitor."""

    def __init__(
        self,
        judge: Judge,
        book: AlarmBook,
        *,
        watches: dict[int, Watch],
        cabinet: Callable[[int], Cabinet],
        door_authority: DoorAuthority | None = None,
    ) -> None:
        self._raise = judge.raise_alarm
        self._book = book
        self._watches = watches
        self._cabinet = cabinet
        self._authority = door_authority or _nobody
        self._states: dict[int, SignalState] = {}

    def state(self, w: Watch) -> SignalState:
        """The intersection's state, afresh when its profile changed (the inventory moved)."""
        found = self._states.get(w.profile.device_id)
        if found is None or found.profile is not w.profile:
            found = self._states[w.profile.device_id] = SignalState(w.profile)
            found.restore(w.alarms, w.city.settings.detector_stuck_s)
        return found

    def monitor(self, w: Watch, readings: Iterable[Reading], t: float) -> None:
        """Judge one report of a signal monitor (or a controller's events), at ``t``."""
        st = self.state(w)
        report = _Report.of(readings)
        if t - st.last_report > _GAP_INTERVALS * w.interval:
            st.forget_detectors()  # reports were lost, and the events in them
        st.last_report = t
        st.cabinet(report.mode, report.mmu, report.mains)
        if report.events:
            self._events(w, st, report.events)
        if report.door is not None:  # after the events: when it opened decides who may
            st.door = report.door == "open"
        self._judge(w, st, t, final=True)
        self._dark(w, st, t, report.lamps)
        self._red_lamps(w, st, t, report.lamps)
        self._battery(w, st, t, report.battery)

    def timed(self, w: Watch, now: float) -> None:
        """A mains failure that waited for its cabinet meter's word is judged now."""
        st = self._states.get(w.profile.device_id)
        if st is not None and st.mains_wait is not None:
            self._mains(w, st, now)

    # The events.

    def _events(self, w: Watch, st: SignalState, events: list[Reading]) -> None:
        """Apply the events in time order, judging at each instant a judged event changed."""
        events.sort(key=lambda r: r.time)
        changed_at: float | None = None
        for r in events:
            param = event_parameter(r.string_value)
            if r.value is None or param is None:
                continue
            if changed_at is not None and r.time != changed_at:
                self._judge(w, st, changed_at, final=False)
                changed_at = None
            if st.event(int(r.value), param, r.time):
                changed_at = r.time
        if changed_at is not None:
            self._judge(w, st, changed_at, final=False)

    # The rules.

    def _judge(self, w: Watch, st: SignalState, t: float, *, final: bool) -> None:
        """Every condition the state answers alone, at ``t`` (``final``: the report's time)."""
        s = w.city.settings
        hold = self._hold
        conflict = st.conflict
        flashing = st.flashing and st.mode != "dark"
        hold(w, AlarmType.CONFLICT_FLASH, t, lambda: text.conflict_words(st), bad=conflict)
        flash = flashing and not conflict and st.mmu != "red_fail"
        hold(w, AlarmType.SIGNAL_FLASH, t, lambda: text.flash_words(st), bad=flash)
        hold(w, AlarmType.MANUAL_CONTROL, t, lambda: text.manual_words(st), bad=st.manual)
        if final and not (flashing or conflict or st.mode == "dark"):
            # Cabinets assert stop time when they go to flash: part of the flash, not apart;
            # judged at the report's time, when the monitor's mode is known.
            hold(w, AlarmType.STOP_TIME, t, text.stop_words, bad=st.stop_time)
        self._mains(w, st, t)
        self._door(w, st, t)
        others = st.other_inputs(s.alarm_inputs)
        hold(w, AlarmType.CABINET_ALARM, t, lambda: text.input_words(others), bad=bool(others))
        if flashing or conflict or st.mode == "dark":
            st.forget_detectors()
        stuck = {
            channel: t - since
            for channel, since in st.detectors_on.items()
            if t - since >= s.detector_stuck_s
        }
        faulty = bool(st.detector_faults or stuck)
        hold(w, AlarmType.DETECTOR_FAULT, t, lambda: text.detector_words(st, stuck), bad=faulty)
        peds = sorted(st.ped_faults)
        hold(
            w, AlarmType.PEDESTRIAN_DETECTOR_FAULT, t, lambda: text.ped_words(peds), bad=bool(peds)
        )

    def _hold(
        self,
        w: Watch,
        kind: AlarmType,
        t: float,
        words: Callable[[], tuple[str, dict[str, Any]]],
        *,
        bad: bool,
        parent: Alarm | None = None,
    ) -> None:
        """Raise ``kind`` while ``bad`` (if not raised), clear it when not (if raised)."""
        alarm = w.alarms.get(kind)
        active = alarm is not None and alarm.active
        if bad and not active:
            message, detail = words()
            self._raise(w, kind, t, message, detail, parent=parent)
        elif not bad and alarm is not None and active:
            self._book.clear(alarm, w, t)

    def _dark(
        self, w: Watch, st: SignalState, t: float, lamps: dict[int, dict[str, float]]
    ) -> None:
        """Dark: the mode says so, or (a monitor with no mode) every lamp reported draws nothing."""
        off = w.city.settings.lamp_off_a
        currents = [a for colours in lamps.values() for a in colours.values()]
        if st.mode is not None:
            dark = st.mode == "dark"
        elif len(currents) >= 2 and not st.flashing:  # noqa: PLR2004 - one lamp is not the signal
            dark = max(currents) < off
        else:
            return  # neither says: as it was
        self._hold(w, AlarmType.SIGNAL_DARK, t, lambda: text.dark_words(st, currents), bad=dark)

    def _red_lamps(
        self, w: Watch, st: SignalState, t: float, lamps: dict[int, dict[str, float]]
    ) -> None:
        """Red lamp failure: a red that should be lit draws nothing, or the MMU says red fail.

        A phase's red should be lit when none of its other lamps is lit and the
        controller's events (if it logs them) do not place it in green or yellow;
        in flash or dark nothing is expected of a red. A monitor that has never
        reported a green or yellow lamp (reds alone) says nothing by a red off,
        unless the events place its phase in red.
        """
        s = w.city.settings
        off = s.lamp_off_a
        judged = not st.flashing and not _active(w, AlarmType.SIGNAL_DARK)
        st.colours_seen = st.colours_seen or any(
            "green" in colours or "yellow" in colours for colours in lamps.values()
        )
        for phase, colours in lamps.items() if judged else ():
            red, known = colours.get("red"), st.phases.get(phase)
            if (
                red is None
                or colours.get("green", 0.0) >= off
                or colours.get("yellow", 0.0) >= off
                or known in (PHASE_GREEN, PHASE_YELLOW)
            ):
                continue  # not lit by design now, or not reported
            if red < off and not st.colours_seen and known not in PHASE_RED:
                continue  # a monitor of reds alone: this red is off, its green may be on
            if red < off:
                st.red_out[phase] = 0
            elif phase in st.red_out:
                st.red_out[phase] += 1
                if st.red_out[phase] >= s.clear_reports:
                    del st.red_out[phase]
        bad = bool(st.red_out) or st.mmu == "red_fail"
        out = {p: lamps.get(p, {}).get("red") for p in sorted(st.red_out)}
        self._hold(w, AlarmType.RED_LAMP_FAILURE, t, lambda: text.red_words(st, out), bad=bad)

    def _battery(self, w: Watch, st: SignalState, t: float, volts: float | None) -> None:
        """Battery low: below ``battery_low_v`` for ``confirm_reports`` reports (one fitted)."""
        s = w.city.settings
        if volts is None or volts < s.battery_absent_v:
            return
        evidence = below(volts, s.battery_low_v, s.battery_ok_v)
        if evidence is BAD:
            st.battery_streak = max(st.battery_streak, 0) + 1
            low = st.battery_streak >= s.confirm_reports or _active(w, AlarmType.BATTERY_LOW)
        elif evidence is GOOD:
            st.battery_streak = min(st.battery_streak, 0) - 1
            low = -st.battery_streak < s.clear_reports and _active(w, AlarmType.BATTERY_LOW)
        else:
            return
        self._hold(
            w, AlarmType.BATTERY_LOW, t, lambda: text.battery_words(volts, s.battery_low_v), bad=low
        )

    def _mains(self, w: Watch, st: SignalState, t: float) -> None:
        """Mains failure, held under its cabinet's outage incident when that is the cause.

        An intersection fed by a metered cabinet waits up to 1.2 of the meter's
        intervals for its word, as its lights do: an outage of the cabinet is
        then one incident with the intersection's failure under it.
        """
        kind = AlarmType.MAINS_FAILURE
        alarm = w.alarms.get(kind)
        if not st.mains_lost:
            st.mains_lost_at = st.mains_wait = None
            self._hold(w, kind, t, lambda: text.mains_words(st), bad=False)
            return
        if st.mains_lost_at is None:
            st.mains_lost_at = t
        incident, meter_due = self._supply(w, st, t)
        if alarm is not None and alarm.active:
            if alarm.held and incident is None:  # the cabinet came back, this did not
                alarm.held = False
                alarm.raised_at = alarm.updated_at = t
                self._book.release(alarm, t)
            return
        if incident is None and meter_due is not None:
            if st.mains_wait is None:
                st.mains_wait = meter_due
                schedule(w.city, meter_due, Due.MAINS, w)
            if t < st.mains_wait:
                return
        self._hold(w, kind, t, lambda: text.mains_words(st), bad=True, parent=incident)

    def _supply(self, w: Watch, st: SignalState, t: float) -> tuple[Alarm | None, float | None]:
        """The cabinet's open outage incident, or when its meter will next have spoken."""
        cabinet_id = w.profile.cabinet_id
        if cabinet_id is None:
            return None, None
        cabinet = self._cabinet(cabinet_id)
        if cabinet.incident is not None and cabinet.incident.active:
            return cabinet.incident, None
        meter = self._watches.get(cabinet.meter) if cabinet.meter is not None else None
        if meter is None or st.mains_lost_at is None or meter.last_seen >= st.mains_lost_at:
            return None, None  # no meter to ask, or it has spoken since and saw mains
        if t - meter.last_seen >= w.city.settings.silent_intervals * meter.interval:
            return None, None  # the meter is silent: it will not say
        return None, meter.last_seen + _METER_WAIT * meter.interval

    def _door(self, w: Watch, st: SignalState, t: float) -> None:
        """The door: opened with no authority, or open too long.

        An opening asks ``door_authority`` once; an answer it cannot give (the
        store away) is asked again at the next report, so a crew's opening is
        never taken for a break-in for want of a database.
        """
        s = w.city.settings
        open_now = st.door_open(s.alarm_inputs)
        if open_now and st.opened_at is None:
            st.opened_at, st.authorised, st.asking = t, None, True
        opened = st.opened_at
        if opened is None:
            return
        if st.asking:
            self._ask(w, st, opened, t)
            if st.asking:
                return  # no answer yet: asked again at the next report
        too_long = open_now and t - opened >= s.door_open_max_s
        self._hold(
            w, AlarmType.DOOR_OPEN_TOO_LONG, t, lambda: text.long_words(st, opened, t), bad=too_long
        )
        if not open_now:
            st.opened_at = None
            words = lambda: text.break_in_words(opened)  # noqa: E731 - named for the line's length
            self._hold(w, AlarmType.DOOR_OPEN_UNAUTHORISED, t, words, bad=False)

    def _ask(self, w: Watch, st: SignalState, opened: float, t: float) -> None:
        """Ask who authorised the opening; nobody did: a break-in, raised now."""
        profile = w.profile
        if profile.asset_id is None:
            return
        try:
            st.authorised = self._authority(w.city.id, profile.asset_id, opened)
        except StorageError as exc:  # the store away: asked again at the next report
            log.warning("asset %s: the door's authority cannot answer: %s", profile.asset_code, exc)
            return
        except Exception:  # a bug: logged, and asked again rather than called a break-in
            log.exception("asset %s: the door's authority failed", profile.asset_code)
            return
        st.asking = False
        if st.authorised is None:
            words = lambda: text.break_in_words(opened)  # noqa: E731 - named for the line's length
            self._hold(w, AlarmType.DOOR_OPEN_UNAUTHORISED, t, words, bad=True)


def _active(w: Watch, kind: AlarmType) -> bool:
    alarm = w.alarms.get(kind)
    return alarm is not None and alarm.active
