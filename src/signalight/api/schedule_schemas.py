"""The schedules API's bodies: profiles (the JSON of ``codecs/profiles.py``), entries, a day."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from signalight.api.params import MAX_ID, IsoTime
from signalight.codecs.profiles import profile_to_json
from signalight.domain.assignments import MAX_REASON, Assignment, CalendarEntry, Override, Scope
from signalight.domain.schedules import MAX_OFFSET_MIN, Anchor

if TYPE_CHECKING:
    from signalight.domain.schedule_days import DaySchedule
    from signalight.domain.schedules import Profile

Key = Annotated[str, Field(max_length=100, description="What the scope names; '' for the city")]
ProfileRef = Annotated[int, Field(ge=1, le=MAX_ID, description="The profile's id")]


class StepIn(BaseModel):
    """From this time of the night on, the light burns at ``level`` percent (0: off)."""

    model_config = ConfigDict(extra="forbid")

    anchor: Anchor
    offset_min: Annotated[int, Field(ge=-MAX_OFFSET_MIN, le=MAX_OFFSET_MIN)] | None = Field(
        default=None, description="Minutes after (negative: before) a sun anchor"
    )
    at: Annotated[str, Field(pattern=r"^\d\d:\d\d$")] | None = Field(
        default=None, description="A clock step's local time, HH:MM"
    )
    level: Annotated[float, Field(ge=0, le=100)]


class WindowIn(BaseModel):
    """A switch-off window of local clock time."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: Annotated[str, Field(alias="from", pattern=r"^\d\d:\d\d$")]
    until: Annotated[str, Field(pattern=r"^\d\d:\d\d$")]


class ProfileIn(BaseModel):
    """A dimming profile: on at the first step, off at the last; the node runs the same JSON."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)]
    steps: Annotated[list[StepIn], Field(min_length=2, max_length=24)]
    off_windows: Annotated[list[WindowIn], Field(max_length=24)] = []

    def document(self) -> dict[str, Any]:
        """The body as the profile codec reads it."""
        return {
            "name": self.name,
            "steps": [s.model_dump(exclude_none=True, mode="json") for s in self.steps],
            "off_windows": [w.model_dump(by_alias=True) for w in self.off_windows],
        }


class ProfileOut(BaseModel):
    """A stored profile, in the JSON the nodes run, and in words."""

    id: int
    name: str
    steps: list[dict[str, Any]]
    off_windows: list[dict[str, str]]
    description: str

    @classmethod
    def of(cls, profile_id: int, profile: Profile) -> ProfileOut:
        """The body of a stored profile."""
        return cls(id=profile_id, description=profile.describe(), **profile_to_json(profile))


class AssignmentIn(BaseModel):
    """Lights of ``scope``/``key`` follow ``profile`` on ``weekdays``."""

    model_config = ConfigDict(extra="forbid")

    scope: Scope
    key: Key = ""
    profile: ProfileRef
    weekdays: Annotated[
        list[Annotated[int, Field(ge=0, le=6)]], Field(min_length=1, max_length=7)
    ] = Field(
        default_factory=lambda: list(range(7)), description="0 is Monday; every day if left out"
    )


class AssignmentOut(BaseModel):
    """One assignment."""

    id: int
    scope: Scope
    key: str
    profile: int
    weekdays: list[int]

    @classmethod
    def of(cls, a: Assignment) -> AssignmentOut:
        """The body of a stored assignment."""
        return cls(
            id=a.id, scope=a.scope, key=a.key, profile=a.profile_id, weekdays=sorted(a.weekdays)
        )


class CalendarIn(BaseModel):
    """From night ``first`` to ``last`` (local dates, included) the lights follow ``profile``."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)]
    first: date
    last: date
    profile: ProfileRef
    scope: Scope = Scope.CITY
    key: Key = ""


class CalendarOut(BaseModel):
    """One calendar entry."""

    id: int
    name: str
    first: date
    last: date
    profile: int
    scope: Scope
    key: str

    @classmethod
    def of(cls, e: CalendarEntry) -> CalendarOut:
        """The body of a stored entry."""
        return cls(
            id=e.id,
            name=e.name,
            first=e.first,
            last=e.last,
            profile=e.profile_id,
            scope=e.scope,
            key=e.key,
        )


class OverrideIn(BaseModel):
    """Lights of the scope on, off or at a level from now, until ``expires_at`` or for a while."""

    model_config = ConfigDict(extra="forbid")

    scope: Scope
    key: Key = ""
    mode: Literal["on", "off", "level"]
    level: Annotated[float, Field(ge=0, le=100)] | None = Field(
        default=None, description="Percent, with mode level"
    )
    expires_at: IsoTime | None = Field(default=None, description="Until (ISO 8601 with a zone)")
    duration_min: Annotated[int, Field(ge=1, le=31 * 24 * 60)] | None = Field(
        default=None, description="Or for this many minutes"
    )
    reason: Annotated[str, Field(min_length=1, max_length=MAX_REASON, pattern=r"\S")]


class OverrideOut(BaseModel):
    """One override; ``by`` is who asked."""

    id: int
    scope: Scope
    key: str
    level: float
    starts_at: datetime
    expires_at: datetime
    reason: str
    by: str
    active: bool = Field(description="In force now")

    @classmethod
    def of(cls, o: Override, now: float) -> OverrideOut:
        """The body of an override, ``active`` judged at ``now``."""
        return cls(
            id=o.id,
            scope=o.scope,
            key=o.key,
            level=o.level,
            starts_at=_utc(o.starts),
            expires_at=_utc(o.expires),
            reason=o.reason,
            by=o.by,
            active=o.starts <= now < o.expires,
        )


class NightOut(BaseModel):
    """The profile a light follows on one night (noon to noon), and why."""

    night: date
    profile_id: int | None = Field(description="null: the city's default")
    profile: str
    description: str
    source: str = Field(description="The override, calendar entry or assignment that chose it")


class SegmentOut(BaseModel):
    """The light burns at ``level`` percent from ``start`` until ``end`` (local times)."""

    start: datetime
    end: datetime
    level: float


class SunOut(BaseModel):
    """The sun's events of the day at the light (local times; null: none that day)."""

    dawn: datetime | None
    sunrise: datetime | None
    sunset: datetime | None
    dusk: datetime | None


class DayOut(BaseModel):
    """What a light should do on a local day (midnight to midnight), and why."""

    asset: str
    date: date
    timezone: str
    nights: list[NightOut] = Field(description="The night before (its morning), this day's night")
    overrides: list[OverrideOut] = Field(description="In force some time of the day, newest on top")
    segments: list[SegmentOut] = Field(description="Lit spans; off between them")
    lit_hours: float
    sun: SunOut

    @classmethod
    def of(cls, day: DaySchedule, now: float) -> DayOut:
        """The body of a light's day."""
        zone = ZoneInfo(day.zone)

        def local(t: float) -> datetime | None:
            return datetime.fromtimestamp(t, zone) if math.isfinite(t) else None

        return cls(
            asset=day.code,
            date=day.day,
            timezone=day.zone,
            nights=[
                NightOut(
                    night=n.night,
                    profile_id=n.profile_id,
                    profile=n.profile.name,
                    description=n.profile.describe(),
                    source=n.source,
                )
                for n in day.nights
            ],
            overrides=[OverrideOut.of(o, now) for o in day.overrides],
            segments=[
                SegmentOut(
                    start=datetime.fromtimestamp(s.start, zone),
                    end=datetime.fromtimestamp(s.end, zone),
                    level=s.level,
                )
                for s in day.plan.segments
            ],
            lit_hours=round(day.plan.lit_hours(), 3),
            sun=SunOut(
                dawn=local(day.sun.dawn),
                sunrise=local(day.sun.sunrise),
                sunset=local(day.sun.sunset),
                dusk=local(day.sun.dusk),
            ),
        )


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, ZoneInfo("UTC"))
