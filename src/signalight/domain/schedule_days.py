"""A light's local day by its schedules: the plans of two nights, overrides on top, and why.

Local day ``D`` (midnight to midnight in the city's zone) holds the morning
of the night of ``D - 1`` and the evening of the night of ``D``; each night
may follow a different profile (a calendar entry, a weekday assignment),
and overrides lie over both, the newest on top.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import TYPE_CHECKING, NamedTuple

from signalight.domain.schedules import NightSun, Plan, Segment, night_plan

if TYPE_CHECKING:
    from collections.abc import Sequence

    from signalight.domain.assets import LuminaireType
    from signalight.domain.assignments import LightKeys, Override
    from signalight.domain.schedules import Profile
    from signalight.domain.sun import Cell, LocalDays, SunTable, Twilight

__all__ = ["DaySchedule", "NightChoice", "ScheduledLight", "day_plan", "day_span"]


class ScheduledLight(NamedTuple):
    """A streetlight as schedules see it: where it stands, what it is known by, its rating."""

    id: int
    keys: LightKeys
    lat: float
    lon: float
    luminaire: LuminaireType | None = None
    rated_watts: float | None = None


@dataclass(frozen=True, slots=True)
class NightChoice:
    """The profile a light follows on one night, and why."""

    night: date
    profile_id: int | None  # None: the city's default
    profile: Profile
    source: str


@dataclass(frozen=True, slots=True)
class DaySchedule:
    """What one light should do on one local day, and why."""

    code: str
    day: date
    zone: str
    start: float  # local midnight, UTC epoch seconds
    end: float  # the next local midnight
    plan: Plan  # within [start, end), overrides laid on top
    nights: tuple[NightChoice, NightChoice]  # the night before (its morning), this day's night
    overrides: tuple[Override, ...]  # in force at some time of the day, oldest first
    sun: Twilight  # the sun's events of the day at the light's own coordinates


def day_span(days: LocalDays, day: date) -> tuple[float, float]:
    """Local midnight of ``day`` and of the next day, as UTC epoch seconds."""
    return days.on(day, time(0)), days.on(day + timedelta(days=1), time(0))


def day_plan(
    profiles: tuple[Profile, Profile],
    day: date,
    sun: SunTable,
    cell: Cell,
    days: LocalDays,
    overrides: Sequence[Override] = (),
) -> Plan:
    """The plan of local ``day`` from the profiles of the nights before and of the day.

    ``profiles`` are those of the night of ``day - 1`` and of ``day``;
    ``overrides``, oldest first, lie on top, the newest uppermost.
    """
    before, after = day - timedelta(days=1), day + timedelta(days=1)
    twilights = [sun.twilight(cell, d) for d in (before, day, after)]
    morning = night_plan(profiles[0], before, NightSun(twilights[0], twilights[1]), days)
    evening = night_plan(profiles[1], day, NightSun(twilights[1], twilights[2]), days)
    start, end = day_span(days, day)
    plan = _joined((morning + evening).clipped(start, end))
    if overrides:
        spans = [(max(o.starts, start), min(o.expires, end), o.level) for o in overrides]
        plan = plan.overridden([s for s in spans if s[0] < s[1]]).clipped(start, end)
    return plan


def _joined(plan: Plan) -> Plan:
    """Segments that meet at one level (the two nights at noon in a polar night) as one."""
    out: list[Segment] = []
    for seg in plan.segments:
        if out and out[-1].end == seg.start and out[-1].level == seg.level:
            out[-1] = Segment(out[-1].start, seg.end, seg.level)
        else:
            out.append(seg)
    if len(out) == len(plan.segments):
        return plan
    return Plan(tuple(out), tuple(sorted({s.start for s in out} | {s.end for s in out})))
