"""How a rule's evidence becomes an alarm: streaks of bad and good reports, per device and type.

A rule gives each report a piece of :class:`Evidence`; :class:`Judge` raises
after ``confirm_reports`` bad reports in a row and clears after
``clear_reports`` good ones, and a report that cannot tell (a lamp's power
by day) leaves the streak as it is (``docs/faults.md``, "How a rule decides").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from signalight.services.alarm_book import Opening
from signalight.services.alarm_text import describe
from signalight.services.fault_memory import BAD, NO_COUNTERS, UNKNOWN

if TYPE_CHECKING:
    from signalight.domain.alarms import Alarm, AlarmType
    from signalight.domain.faults import Evidence
    from signalight.domain.readings import Reading
    from signalight.services.alarm_book import AlarmBook
    from signalight.services.fault_memory import Watch

__all__ = ["Judge"]


class Judge:
    """Counts each device's evidence per alarm type, and raises or clears through the book."""

    def __init__(self, book: AlarmBook) -> None:
        self._book = book

    def judge(
        self,
        w: Watch,
        kind: AlarmType,
        evidence: Evidence,
        t: float,
        values: dict[str, Reading] | None = None,
        expected: float | None = None,
        *,
        clear_now: bool = False,
        confirm: int = 0,
    ) -> None:
        """Count one report's evidence for a rule; raise or clear when the streak is long enough.

        Args:
            w: The device.
            kind: The rule's alarm type.
            evidence: What the report says of it.
            t: The report's time.
            values: The report's readings, for the alarm's words and figures.
            expected: What the rule expected (a power, a dim level), for the words.
            clear_now: Clear on this good report, whatever the streak.
            confirm: Bad reports in a row that raise (0: the city's setting).
        """
        if evidence is UNKNOWN:
            return
        counters = w.counters
        streak = counters.get(kind, 0)
        alarm = w.alarms.get(kind)
        s = w.city.settings
        if evidence is BAD:
            streak = streak + 1 if streak > 0 else 1
            if counters is NO_COUNTERS:
                w.own()
                counters = w.counters
            counters[kind] = streak
            if streak >= (confirm or s.confirm_reports) and (alarm is None or not alarm.active):
                message, detail = describe(kind, values or {}, expected)
                self.raise_alarm(w, kind, t, message, detail)
            return
        if alarm is None or not alarm.active:
            counters.pop(kind, None)
            return
        streak = streak - 1 if streak < 0 else -1
        w.own()
        counters = w.counters
        counters[kind] = streak
        if clear_now or -streak >= s.clear_reports:
            counters.pop(kind, None)
            self._book.clear(alarm, w, t)

    def raise_alarm(
        self,
        w: Watch,
        kind: AlarmType,
        t: float,
        message: str,
        detail: dict[str, Any],
        *,
        parent: Alarm | None = None,
    ) -> None:
        """Raise (or reopen) the device's alarm of ``kind``, held under ``parent`` if given."""
        profile = w.profile
        alarm = self._book.open(
            w.city,
            Opening(kind, t, message, detail),
            device=profile,
            asset_id=profile.asset_id,
            asset_code=profile.asset_code,
            current=w.alarms.get(kind),
            parent=parent,
        )
        w.own()
        w.alarms[kind] = alarm
