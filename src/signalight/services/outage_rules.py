"""The rules of cabinets and silence: outage incidents, held alarms, communication loss, sunrise."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from signalight.domain.alarms import Alarm, AlarmType
from signalight.services.alarm_book import Opening
from signalight.services.alarm_text import duration, figures
from signalight.services.fault_memory import (
    DARK_INTERVALS,
    LIGHT_NODE,
    METER,
    Cabinet,
    CityState,
    Due,
    Watch,
    above,
    below,
    schedule,
)

if TYPE_CHECKING:
    from signalight.domain.readings import Reading
    from signalight.services.alarm_book import AlarmBook
    from signalight.services.verdicts import Judge

__all__ = ["OutageRules"]

log = logging.getLogger(__name__)


class OutageRules:
    """Cabinets' meters and outages, and the rules of silence.

    They look across devices (a cabinet's lights, its meter), so they are
    given the detector's memory of the fleet: its watches by device, the
    arrival number of each standing last will, and how to find a cabinet or
    start watching devices.
    """

    def __init__(
        self,
        judge: Judge,
        book: AlarmBook,
        *,
        watches: dict[int, Watch],
        wills: dict[int, int],
        cabinet: Callable[[int], Cabinet],
        watch_all: Callable[[Iterable[int]], None],
        flush: Callable[[], object],
    ) -> None:
        self._judge = judge.judge
        self._raise = judge.raise_alarm
        self._book = book
        self._watches = watches
        self._wills = wills
        self._cabinet = cabinet
        self._watch_all = watch_all
        self._flush = flush

    def meter(self, w: Watch, values: dict[str, Reading], t: float) -> None:
        """A cabinet's meter: mains lost is an outage incident; phases out of band an alarm."""
        s = w.city.settings
        mains = values.get("mains")
        phases = [
            r.value
            for name, r in values.items()
            if name.startswith("voltage") and r.value is not None
        ]
        lost = (mains is not None and mains.bool_value is False) or (
            bool(phases) and max(phases) < s.mains_lost_v
        )
        if mains is None and not phases:
            return
        if w.profile.asset_id is not None:
            cabinet = self._cabinet(w.profile.asset_id)
            cabinet.code = w.profile.asset_code
            if lost:
                self._outage(cabinet, w.city, t, "meter", values)
            elif cabinet.incident is not None and cabinet.incident.active:
                self._recovered(cabinet, w.city, t)
        if not lost and phases:  # a phase lost while others hold is low voltage
            self._judge(
                w,
                AlarmType.HIGH_VOLTAGE,
                above(max(phases), s.voltage_high, s.voltage_high_clear),
                t,
                values,
            )
            self._judge(
                w,
                AlarmType.LOW_VOLTAGE,
                below(min(phases), s.voltage_low, s.voltage_low_clear),
                t,
                values,
            )

    def _outage(
        self,
        cabinet: Cabinet,
        city: CityState,
        t: float,
        source: str,
        values: dict[str, Reading] | None = None,
    ) -> Alarm:
        incident = cabinet.incident
        if incident is not None and incident.active:
            if source == "meter" and cabinet.source != "meter":
                cabinet.source = "meter"
                incident.detail["source"] = "meter"
            return incident
        detail: dict[str, Any] = {"source": source, "lights": len(cabinet.lights)}
        if values:
            detail |= figures(values)
        message = (
            "the cabinet meter reports mains lost"
            if source == "meter"
            else "most lights of the cabinet went dark together"
        )
        cabinet.source = source
        cabinet.incident = self._book.open(
            city,
            Opening(AlarmType.SUPPLY_LOSS, t, message, detail),
            device=None,
            asset_id=cabinet.asset_id,
            asset_code=cabinet.code,
            current=incident,
        )
        try:
            self._flush()  # the incident's id, for the alarms held under it
        except Exception:  # the store is away: the next flush sets the held alarms' parent later
            log.exception("storing an outage incident failed; it is kept for the next flush")
        return cabinet.incident

    def _recovered(self, cabinet: Cabinet, city: CityState, t: float) -> None:
        incident = cabinet.incident
        if incident is None or not incident.active:
            return
        self._book.clear(incident, cabinet, t)
        release_at = t + max(city.settings.offline_hold_s, 0.0)
        self._watch_all(cabinet.held)  # a light held since before a restart has no watch yet
        for device_id in cabinet.held:
            w = self._watches.get(device_id)
            if w is not None:
                schedule(city, release_at + DARK_INTERVALS * w.interval, Due.RELEASE, w)

    def lights_back(self, cabinet: Cabinet, city: CityState, t: float) -> None:
        """End an outage that the lights showed once most of them report again."""
        incident = cabinet.incident
        if incident is None or not incident.active or cabinet.source != "lights":
            return
        seen = [self._watches[d] for d in cabinet.lights if d in self._watches]
        dark = sum(
            1
            for lw in seen
            if lw.offline_at is not None or t - lw.last_seen > DARK_INTERVALS * lw.interval
        )
        if dark < 0.5 * city.settings.outage_share * len(seen):
            self._recovered(cabinet, city, t)

    def _outage_verdict(
        self, cabinet: Cabinet, city: CityState, w: Watch, now: float
    ) -> bool | None:
        """Whether the cabinet is in outage (True), is not (False), or its meter will say (None)."""
        s = city.settings
        if cabinet.incident is not None and cabinet.incident.active:
            return True
        meter = self._watches.get(cabinet.meter) if cabinet.meter is not None else None
        if meter is not None and self._meter_spoke_since(cabinet, meter, w):
            return False  # the meter has spoken since the light went dark, and saw mains
        if self._lights_dark(cabinet, city, now):
            return True
        if (
            meter is not None
            and now - meter.last_seen < s.silent_intervals * meter.interval
            and not w.waited
        ):
            return None
        return False

    def _meter_spoke_since(self, cabinet: Cabinet, meter: Watch, w: Watch) -> bool:
        """Whether the cabinet's meter reported after the light ``w`` went dark.

        A light gone silent went dark one interval after its last report: both
        are device times. A last will carries no device time (it is placed on
        the city's clock, which can lag the meter's own time), so there what
        counts is which arrived later, the will or the meter's report, and that
        the report is newer than the light's last one.
        """
        will = self._wills.get(w.profile.device_id) if w.offline_at is not None else None
        if will is None:
            return meter.last_seen >= w.last_seen + w.interval
        return cabinet.heard > will and meter.last_seen >= w.last_seen

    def _lights_dark(self, cabinet: Cabinet, city: CityState, now: float) -> bool:
        """Whether most of the cabinet's lights that ever spoke are dark together."""
        s = city.settings
        seen = [self._watches[d] for d in cabinet.lights if d in self._watches]
        seen = [lw for lw in seen if lw.last_seen > -math.inf]
        if len(seen) < s.outage_min_lights:
            return False
        dark = sum(
            1
            for lw in seen
            if lw.offline_at is not None or now - lw.last_seen > DARK_INTERVALS * lw.interval
        )
        return dark >= s.outage_share * len(seen)

    def silence(self, city: CityState, w: Watch, now: float) -> None:
        """Communication failure: silent past its intervals, or offline by its last will."""
        s = city.settings
        limit = s.silent_intervals * w.interval
        comm = w.alarms.get(AlarmType.COMMUNICATION_FAILURE)
        offline = w.offline_at is not None and now - w.offline_at >= s.offline_hold_s
        if (comm is not None and comm.active) or not w.profile.in_service:
            return
        if not offline and now - w.last_seen < limit:
            if w.due is None and w.last_seen > -math.inf:
                schedule(city, w.last_seen + limit, Due.SILENCE, w)
            return
        parent: Alarm | None = None
        if w.profile.kind == LIGHT_NODE and w.profile.cabinet_id is not None:
            cabinet = self._cabinet(w.profile.cabinet_id)
            verdict = self._outage_verdict(cabinet, city, w, now)
            if verdict is None:  # its cabinet's meter will tell within the interval
                w.waited = True
                meter = self._watches.get(cabinet.meter) if cabinet.meter is not None else None
                meter = meter or w
                schedule(city, meter.last_seen + 1.2 * meter.interval, Due.SILENCE, w)
                return
            if verdict:
                parent = self._outage(cabinet, city, now, "lights")
                cabinet.held.append(w.profile.device_id)
        elif w.profile.kind == METER and w.profile.asset_id is not None:
            # a meter that lost its supply with its lights is part of the outage
            cabinet = self._cabinet(w.profile.asset_id)
            active = cabinet.incident is not None and cabinet.incident.active
            if active or self._lights_dark(cabinet, city, now):
                cabinet.code = w.profile.asset_code
                parent = self._outage(cabinet, city, now, "lights")
                cabinet.held.append(w.profile.device_id)
        if w.offline_at is not None:
            message = "its last will said offline"
        else:
            silent, every = duration(now - w.last_seen), duration(w.interval)
            message = f"no uplink for {silent} (it reports every {every})"
        detail = {
            "last_seen": w.last_seen,
            "interval_s": round(w.interval, 1),
            "offline_at": w.offline_at,
        }
        self._raise(w, AlarmType.COMMUNICATION_FAILURE, now, message, detail, parent=parent)

    def release(self, w: Watch, now: float) -> None:
        """A light held under an incident whose cabinet recovered, still silent: on its own now."""
        comm = w.alarms.get(AlarmType.COMMUNICATION_FAILURE)
        if comm is None or not comm.held or not comm.active:
            return
        comm.held = False
        comm.raised_at = now
        comm.updated_at = now
        self._book.release(comm, now)
