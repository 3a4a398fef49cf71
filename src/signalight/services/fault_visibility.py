"""When a fault of the ground truth could be seen by its rule, and for how long it must be seen.

The scorer (``scoring.py``) counts a fault as *expected* only if its asset
could show it and it stayed observable for as long as its rule needs; this
module holds that judgement, one rule at a time, on plain values.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from signalight.domain.assets import AssetKind
from signalight.domain.faults import DetectionSettings
from signalight.domain.sun import LocalDays, SunTable

__all__ = [
    "AUTHORISED_OPENING",
    "FEEDER",
    "LAMP_ON",
    "SIGNAL_AT_ONCE",
    "FaultObserver",
    "FaultSite",
    "Truth",
    "feeds",
]

# Faults a lamp shows only while it burns: by night, and for a power factor above the
# dimming floor (the simulator's night dimming, 50%, is judged).
LAMP_ON: Final = frozenset(
    {"lampFailure", "cyclingFailure", "dimmingFailure", "highPower", "lowPowerFactor"}
)
# Faults of a cabinet's supply: its lights see them too.
FEEDER: Final = frozenset({"highVoltage", "lowVoltage"})
# Signal faults one report shows (or one event: a door opened and shut between reports).
SIGNAL_AT_ONCE: Final = frozenset(
    {
        "signalFlash",
        "signalDark",
        "conflictFlash",
        "manualControl",
        "stopTime",
        "mainsFailure",
        "doorOpenUnauthorised",
        "doorOpenTooLong",
        "cabinetAlarm",
        "pedestrianDetectorFault",
    }
)
# A crew's door opening in its maintenance window: ground truth that no alarm is due.
AUTHORISED_OPENING: Final = "doorOpenAuthorised"
# A red is seen out only when a report finds its phase red: a few reports, on an
# actuated cycle, always do.
RED_LAMP_REPORTS: Final = 5


@dataclass(frozen=True, slots=True)
class Truth:
    """One fault of the ground truth, as epoch seconds (``end`` None: to the end of the run)."""

    fault: str
    asset: str
    start: float
    end: float | None


@dataclass(frozen=True, slots=True)
class FaultSite:
    """What the scorer needs of an asset: where it is, what it is, what it hangs off."""

    code: str
    kind: AssetKind
    lat: float
    lon: float
    cabinet: str | None = None
    monitored: bool = True  # has a device
    lights: int = 0  # cabinets: monitored lights they power
    id: int | None = None  # the stored asset's id, which alarms also carry


class FaultObserver:
    """When a fault on an asset could first be seen by its rule, and for how long it must be."""

    def __init__(self, zone: str, settings: DetectionSettings) -> None:
        self.settings = settings
        tz = zoneinfo.ZoneInfo(zone)
        self.days = LocalDays(tz)
        self.sun = SunTable(tz)

    def interval(self, site: FaultSite) -> float:
        """The reporting interval of the asset's device, as the rules assume it."""
        kind = {
            AssetKind.STREETLIGHT: "streetlight_node",
            AssetKind.CABINET: "cabinet_meter",
            AssetKind.INTERSECTION: "signal_monitor",
        }[site.kind]
        return self.settings.default_interval_s.get(kind, 300.0)

    def _sun(self, site: FaultSite, t: float) -> tuple[float, float, float]:
        day = self.days.at(t)
        rise, set_ = self.sun.daylight(self.sun.cell(site.lat, site.lon), day.day)
        return rise, set_, day.end

    def next_night(self, site: FaultSite, t: float) -> float:
        """The next moment (from ``t``) when the sun is down at the asset."""
        rise, set_, _ = self._sun(site, t)
        return t if t < rise or t >= set_ else set_

    def next_day(self, site: FaultSite, t: float) -> float:
        """The next moment (from ``t``) when the sun is up past the rules' margin."""
        margin = self.settings.sun_margin_s
        rise, set_, end = self._sun(site, t)
        if rise + margin <= t < set_ - margin:
            return t
        if t < rise + margin:
            return rise + margin
        rise_next, _, _ = self._sun(site, end + 1.0)
        return rise_next + margin

    def next_dim_window(self, t: float) -> float:
        """The next moment (from ``t``) well inside the night dimming hours."""
        s = self.settings
        for offset in (0.0, 86_400.0, 172_800.0):
            day = self.days.at(t + offset)
            low, high = self.days.clock(day, s.dim_from), self.days.clock(day, s.dim_until)
            begin = low + s.dim_edge_s
            if begin >= t and begin < high:
                return begin
            if low <= t < high - s.dim_edge_s:
                return t
        return t

    def visible(self, truth: Truth, site: FaultSite) -> float:
        """When the rule could first see the fault."""
        if truth.fault == "dimmingFailure":
            return self.next_dim_window(self.next_night(site, truth.start))
        if truth.fault in LAMP_ON:
            return self.next_night(site, truth.start)
        if truth.fault == "lampUnexpectedOn":
            return self.next_day(site, truth.start)
        if truth.fault == "doorOpenTooLong":  # a door open since its start, too long from here
            return truth.start + self.settings.door_open_max_s
        return truth.start

    def needs(self, truth: Truth, site: FaultSite) -> float:
        """How long a fault must stay observable for its rule to see it."""
        s = self.settings
        interval = self.interval(site)
        match truth.fault:
            case "communicationFailure":
                needs = (s.silent_intervals + 1.0) * interval + s.offline_hold_s
            case "supplyLoss" if site.monitored:
                # One meter report of mains lost raises the incident, and any
                # stretch of one interval holds a report.
                needs = interval
            case "supplyLoss":
                # Without a meter the lights tell: offline, held a while, then judged.
                needs = 2 * interval + s.offline_hold_s
            case "cyclingFailure":
                needs = s.cycling_window_s
            case kind if kind in SIGNAL_AT_ONCE:
                needs = interval
            case "redLampFailure":
                needs = RED_LAMP_REPORTS * interval
            case "detectorFault":  # a fault code shows at once; a detector stuck on, later
                needs = s.detector_stuck_s + interval
            case _:
                needs = (s.confirm_reports + 1) * interval
        return needs

    def allowance(self, truth: Truth, site: FaultSite) -> float:
        """How long after a fault's end its alarm may still come and match it.

        What the rule needs; for an outage at least what its lights need, since
        the incident also comes from them when the meter is late or silent.
        """
        needs = self.needs(truth, site)
        if truth.fault == "supplyLoss":
            return max(needs, 2 * self.interval(site) + self.settings.offline_hold_s)
        return needs

    def observable(self, site: FaultSite, truth: Truth) -> bool:
        """Whether the asset can show the fault at all (a device, or enough monitored lights)."""
        if truth.fault == "supplyLoss":
            return site.monitored or site.lights >= self.settings.outage_min_lights
        if truth.fault in FEEDER:
            return site.monitored or site.lights > 0
        return site.monitored


def feeds(sites: Mapping[str, FaultSite]) -> dict[str, list[str]]:
    """Each cabinet's monitored lights by code."""
    fed: dict[str, list[str]] = {}
    for code, site in sites.items():
        if site.cabinet is not None and site.monitored:
            fed.setdefault(site.cabinet, []).append(code)
    return fed
