"""The streetlight rules: power against its curve, day burning, cycling, dimming, electrical."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from signalight.domain.alarms import AlarmType
from signalight.domain.faults import HID
from signalight.services.fault_memory import (
    BAD,
    DARK_INTERVALS,
    GOOD,
    Due,
    Sun,
    Watch,
    above,
    below,
    schedule,
    sun_at,
)

if TYPE_CHECKING:
    from signalight.domain.readings import Reading
    from signalight.services.verdicts import Judge

__all__ = ["LightRules"]

_OK_FAULTS: Final = frozenset({"", "ok", "none"})


class LightRules:
    """The rules of a streetlight node's report, and its look at sunrise."""

    def __init__(self, judge: Judge) -> None:
        self._judge = judge.judge
        self._raise = judge.raise_alarm

    def light(self, w: Watch, values: dict[str, Reading], t: float) -> None:
        """Judge one report of a streetlight node."""
        s = w.city.settings
        profile = w.profile
        on, power_r, dim_r = values.get("on"), values.get("power"), values.get("dim")
        power = power_r.value if power_r is not None else None
        dim = dim_r.value if dim_r is not None and dim_r.value is not None else 100.0
        curve = s.curve(profile.luminaire)
        rated = profile.rated_watts
        expected = rated * curve.share(dim) if rated else None
        if on is not None and on.bool_value is not None:
            lit = on.bool_value
        elif power is not None and rated:
            lit = power > 0.2 * rated * curve.share(0.0)  # a fifth of the floor
        else:
            return  # neither its switch nor its power: nothing to judge a light by
        sun = sun_at(w, t)
        planned, near = w.city.plans.at(w.profile, w.cell, t)
        if lit and not w.on:
            w.on_since = t
        w.on = lit
        warming = profile.luminaire in HID and t - w.on_since < s.hid_warmup_s
        ratio = power / expected if power is not None and expected else None
        # burning: switched on and drawing power; its changes by night are cycling's memory
        burning = lit and (ratio is None or warming or ratio >= s.lamp_low_ratio)
        lit_before = w.last_lit
        # should it burn: by night, unless its plan has it off (a switch-off window)
        burn = sun is Sun.NIGHT and (planned > 0 or near)
        off = sun is Sun.NIGHT and not burn
        self._track(w, t, lit=lit, burning=burning, night=burn, planned_off=off)
        quiet = not w.counters and not w.alarms  # a healthy light: only bad news matters
        if ratio is not None and lit:
            self._power(w, values, t, ratio, expected, warming=warming, quiet=quiet)
        elif not lit:
            self._dark(w, values, t)
        if sun is Sun.DAY:
            if (lit or not quiet) and (planned == 0 or near):  # lit by day on an override: asked
                self._day_burning(w, values, t, lit=lit, lit_before=lit_before)
        elif sun is Sun.NIGHT:
            dimmed = dim if dim_r is not None else None
            self._by_plan(w, values, t, lit=lit, quiet=quiet, dim=dimmed, plan=(planned, near))
        self._electrical(w, values, t, lit=lit, dim=dim, quiet=quiet)

    def sunrise(self, w: Watch, now: float) -> None:
        """Day burning judged at sunrise on what the light last said, if silent since."""
        if not w.lit or not w.profile.in_service or w.last_seen >= w.sunrise_due:
            return
        due = w.last_seen + w.interval
        if now < due:  # a node that reports now and then may yet say it is off: wait for it
            schedule(w.city, due + 1.0, Due.SUNRISE, w)
            return
        if now - w.last_seen > DARK_INTERVALS * w.interval:
            return  # silent: the silence rule speaks for it
        if sun_at(w, now) is not Sun.DAY:
            return
        alarm = w.alarms.get(AlarmType.LAMP_UNEXPECTED_ON)
        if alarm is None or not alarm.active:
            self._raise(
                w,
                AlarmType.LAMP_UNEXPECTED_ON,
                now,
                "it said it was on before sunrise and has not said otherwise since",
                {"on_since": w.on_since},
            )

    def _by_plan(
        self,
        w: Watch,
        values: dict[str, Reading],
        t: float,
        *,
        lit: bool,
        quiet: bool,
        dim: float | None,
        plan: tuple[float, bool],
    ) -> None:
        """By night: burning and dimmed as its plan asks, or off in a switch-off window."""
        planned, near = plan
        if planned > 0:
            self._night(w, values, t, lit=lit, quiet=quiet)
            if lit and dim is not None and not near:
                self._dimming(w, values, t, dim, planned)
        elif not near and (lit or not quiet):  # its plan has it off: a switch-off window
            evidence = BAD if lit else GOOD
            self._judge(w, AlarmType.LAMP_UNEXPECTED_ON, evidence, t, values)

    @staticmethod
    def _track(
        w: Watch, t: float, *, lit: bool, burning: bool, night: bool, planned_off: bool
    ) -> None:
        """Keep the lit/dark changes by night (cycling) and how long it has said off (dark).

        ``night``: it should burn. A night span its plan has off resets the
        dark count, so that a light back from a switch-off window is judged
        from then.
        """
        if w.lit is not None and burning != w.lit and night:
            w.own()
            w.changes.append(t)
        w.lit = burning
        if lit:
            w.last_lit = t
            w.off_since = None
        elif night and w.off_since is None:
            w.off_since = t
        elif planned_off:
            w.off_since = None
        changes = w.changes
        window = w.city.settings.cycling_window_s
        while changes and changes[0] < t - window:
            del changes[0]

    def _power(
        self,
        w: Watch,
        values: dict[str, Reading],
        t: float,
        ratio: float,
        expected: float | None,
        *,
        warming: bool,
        quiet: bool,
    ) -> None:
        """Lamp failure and high power: power against the curve at the reported dim level."""
        s = w.city.settings
        if warming:  # an HID lamp warming up draws less, but never next to nothing
            if ratio < s.lamp_dead_ratio:
                self._judge(w, AlarmType.LAMP_FAILURE, BAD, t, values, expected, confirm=1)
            return
        lamp = below(ratio, s.lamp_low_ratio, s.lamp_ok_ratio)
        if lamp is BAD or not quiet:
            dead = 1 if ratio < s.lamp_dead_ratio else 0  # out beyond doubt: one report
            self._judge(w, AlarmType.LAMP_FAILURE, lamp, t, values, expected, confirm=dead)
        high = above(ratio, s.power_high_ratio, s.power_ok_ratio)
        if high is BAD or not quiet:
            self._judge(w, AlarmType.HIGH_POWER, high, t, values, expected)

    def _dark(self, w: Watch, values: dict[str, Reading], t: float) -> None:
        """Lamp failure of a light that says it is off all night long (and is not cycling)."""
        s = w.city.settings
        if (
            w.off_since is not None
            and t - w.off_since >= s.scheduled_off_s
            and t - w.last_lit >= s.scheduled_off_s
            and len(w.changes) <= 1  # it went out once; cycling goes out and back
            and AlarmType.CYCLING_FAILURE not in w.alarms
        ):
            self._judge(w, AlarmType.LAMP_FAILURE, BAD, t, values)

    def _day_burning(
        self, w: Watch, values: dict[str, Reading], t: float, *, lit: bool, lit_before: float
    ) -> None:
        """Day burning: lit while the sun is up.

        One report is enough well inside the day, or when the light already
        said it was lit after sunrise (in the margin, where that alone proved
        nothing): it has burned past its photocell's tolerance.
        """
        margin = w.city.settings.sun_margin_s
        sure = w.rise + 2 * margin <= t < w.set - 2 * margin or lit_before >= w.rise
        evidence = BAD if lit else GOOD
        self._judge(w, AlarmType.LAMP_UNEXPECTED_ON, evidence, t, values, confirm=int(sure))

    def _night(
        self, w: Watch, values: dict[str, Reading], t: float, *, lit: bool, quiet: bool
    ) -> None:
        """Cycling by night, and a look at sunrise for a light that burns."""
        s = w.city.settings
        if lit and w.sunrise_due < t:  # judged again at sunrise, whether it reports or not
            tomorrow = 86_400.0 if t >= w.set else 0.0
            w.sunrise_due = w.rise + tomorrow + s.sun_margin_s
            schedule(w.city, w.sunrise_due + 1.0, Due.SUNRISE, w)
        if len(w.changes) >= s.cycling_changes:
            self._judge(w, AlarmType.CYCLING_FAILURE, BAD, t, values)
        elif not quiet and not w.changes and lit:
            self._judge(w, AlarmType.CYCLING_FAILURE, GOOD, t, values)

    def _dimming(
        self, w: Watch, values: dict[str, Reading], t: float, dim: float, scheduled: float
    ) -> None:
        """dimmingFailure: lit by night at another level than its plan's (not near a step).

        Near a change of level nodes' clocks differ by minutes: not judged.
        """
        s = w.city.settings
        evidence = BAD if abs(dim - scheduled) > s.dim_tolerance else GOOD
        alarm = w.alarms.get(AlarmType.DIMMING_FAILURE)
        if evidence is GOOD and alarm is not None:
            stuck = alarm.detail.get("dim")
            if isinstance(stuck, int | float) and abs(stuck - scheduled) <= s.dim_tolerance:
                return  # stuck where the schedule happens to be: says nothing
        if evidence is BAD or w.counters or w.alarms:
            self._judge(w, AlarmType.DIMMING_FAILURE, evidence, t, values, scheduled)

    def _electrical(
        self,
        w: Watch,
        values: dict[str, Reading],
        t: float,
        *,
        lit: bool,
        dim: float,
        quiet: bool,
    ) -> None:
        """Voltage, power factor, tilt and the node's own diagnosis."""
        s = w.city.settings
        judge = self._judge
        volts = values.get("voltage")
        if volts is not None and volts.value is not None and volts.value > s.mains_lost_v:
            high = above(volts.value, s.voltage_high, s.voltage_high_clear)
            if high is BAD or not quiet:
                judge(w, AlarmType.HIGH_VOLTAGE, high, t, values)
            low = below(volts.value, s.voltage_low, s.voltage_low_clear)
            if low is BAD or not quiet:
                judge(w, AlarmType.LOW_VOLTAGE, low, t, values)
        pf = values.get("pf")
        if lit and dim >= s.pf_min_dim and pf is not None and pf.value is not None:
            low_pf = below(pf.value, s.pf_low, s.pf_ok)
            if low_pf is BAD or not quiet:
                judge(w, AlarmType.LOW_POWER_FACTOR, low_pf, t, values)
        tilt = values.get("tilt")
        if tilt is not None and tilt.value is not None:
            leaning = above(abs(tilt.value), s.tilt_max_deg, s.tilt_ok_deg)
            if leaning is BAD or not quiet:
                judge(w, AlarmType.ORIENTATION_CHANGED, leaning, t, values)
        fault = values.get("fault")
        if fault is not None and fault.string_value is not None:
            own = GOOD if fault.string_value.strip().lower() in _OK_FAULTS else BAD
            if own is BAD or not quiet:
                judge(w, AlarmType.NODE_FAULT, own, t, values)
