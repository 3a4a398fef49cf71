"""A city's lighting schedules: profiles, assignments, calendar, overrides, and a light's day.

Roles (checked by :class:`Schedules`, the city by ``api/deps.py``): admins
edit profiles, assignments and the calendar; operators and admins add and
end overrides; any role of the city reads. A bad profile or an entry whose
key names nothing in the city is 422 with the reason; a profile's taken
name, a profile in use, or ending an override that is over, 409.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query, Response

from signalight.api.deps import (
    CITY_ERRORS,
    AdminCity,
    ContainerDep,
    OperatorCity,
    ReadableCity,
    UserDep,
)
from signalight.api.params import IsoTime, path_id
from signalight.api.schedule_schemas import (
    AssignmentIn,
    AssignmentOut,
    CalendarIn,
    CalendarOut,
    DayOut,
    OverrideIn,
    OverrideOut,
    ProfileIn,
    ProfileOut,
)
from signalight.api.schemas import ErrorOut
from signalight.codecs.profiles import profile_from_json

router = APIRouter(tags=["schedules"], responses=CITY_ERRORS)

BASE: Final = "/cities/{city}/schedules"
Conflict: Final[dict[int | str, dict[str, Any]]] = {409: {"model": ErrorOut}}
ProfileId = Annotated[int, path_id("The profile's id")]
AssignmentId = Annotated[int, path_id("The assignment's id")]
EntryId = Annotated[int, path_id("The calendar entry's id")]
OverrideId = Annotated[int, path_id("The override's id")]
Code = Annotated[str, Path(description="The streetlight's code", max_length=64)]


@router.get(f"{BASE}/profiles", response_model=list[ProfileOut])
def list_profiles(city: ReadableCity, user: UserDep, container: ContainerDep) -> list[ProfileOut]:
    """The city's dimming profiles (any role)."""
    found = container.schedules.profiles(city, user)
    return [ProfileOut.of(pid, p) for pid, p in found.items()]


@router.post(f"{BASE}/profiles", response_model=ProfileOut, status_code=201, responses=Conflict)
def add_profile(
    city: AdminCity, user: UserDep, container: ContainerDep, body: ProfileIn
) -> ProfileOut:
    """Add a profile (admin); 422 with the reason if it is not sound, 409 on a taken name."""
    profile = profile_from_json(body.document())
    return ProfileOut.of(container.schedules.add_profile(city, user, profile), profile)


@router.get(f"{BASE}/profiles/{{profile_id}}", response_model=ProfileOut)
def get_profile(
    city: ReadableCity, user: UserDep, container: ContainerDep, profile_id: ProfileId
) -> ProfileOut:
    """One profile."""
    return ProfileOut.of(profile_id, container.schedules.profile(city, user, profile_id))


@router.put(f"{BASE}/profiles/{{profile_id}}", response_model=ProfileOut, responses=Conflict)
def replace_profile(
    city: AdminCity, user: UserDep, container: ContainerDep, profile_id: ProfileId, body: ProfileIn
) -> ProfileOut:
    """Change a profile in place (admin): the lights that follow it follow the new steps."""
    profile = profile_from_json(body.document())
    container.schedules.replace_profile(city, user, profile_id, profile)
    return ProfileOut.of(profile_id, profile)


@router.delete(f"{BASE}/profiles/{{profile_id}}", status_code=204, responses=Conflict)
def delete_profile(
    city: AdminCity, user: UserDep, container: ContainerDep, profile_id: ProfileId
) -> Response:
    """Remove a profile (admin); 409 while an assignment or calendar entry uses it."""
    container.schedules.delete_profile(city, user, profile_id)
    return Response(status_code=204)


@router.get(f"{BASE}/assignments", response_model=list[AssignmentOut])
def list_assignments(
    city: ReadableCity, user: UserDep, container: ContainerDep
) -> list[AssignmentOut]:
    """The city's assignments (any role)."""
    return [AssignmentOut.of(a) for a in container.schedules.assignments(city, user)]


@router.post(f"{BASE}/assignments", response_model=AssignmentOut, status_code=201)
def add_assignment(
    city: AdminCity, user: UserDep, container: ContainerDep, body: AssignmentIn
) -> AssignmentOut:
    """Assign a profile to a scope's lights on some weekdays (admin); 422 on a key of nothing."""
    found = container.schedules.assign(
        city, user, body.scope, body.key, body.profile, weekdays=body.weekdays
    )
    return AssignmentOut.of(found)


@router.delete(f"{BASE}/assignments/{{assignment_id}}", status_code=204)
def delete_assignment(
    city: AdminCity, user: UserDep, container: ContainerDep, assignment_id: AssignmentId
) -> Response:
    """Remove an assignment (admin)."""
    container.schedules.unassign(city, user, assignment_id)
    return Response(status_code=204)


@router.get(f"{BASE}/calendar", response_model=list[CalendarOut])
def list_calendar(city: ReadableCity, user: UserDep, container: ContainerDep) -> list[CalendarOut]:
    """The city's calendar entries, by first night (any role)."""
    return [CalendarOut.of(e) for e in container.schedules.calendar(city, user)]


@router.post(f"{BASE}/calendar", response_model=CalendarOut, status_code=201)
def add_calendar_entry(
    city: AdminCity, user: UserDep, container: ContainerDep, body: CalendarIn
) -> CalendarOut:
    """Add a holiday or event (admin): its nights follow the profile over the weekday one."""
    entry = container.schedules.add_calendar_entry(
        city, user, body.name, body.first, body.last, body.profile, body.scope, body.key
    )
    return CalendarOut.of(entry)


@router.delete(f"{BASE}/calendar/{{entry_id}}", status_code=204)
def delete_calendar_entry(
    city: AdminCity, user: UserDep, container: ContainerDep, entry_id: EntryId
) -> Response:
    """Remove a calendar entry (admin)."""
    container.schedules.delete_calendar_entry(city, user, entry_id)
    return Response(status_code=204)


@router.get(f"{BASE}/overrides", response_model=list[OverrideOut])
def list_overrides(
    city: ReadableCity,
    user: UserDep,
    container: ContainerDep,
    since: Annotated[
        IsoTime | None, Query(description="Those expiring after this time (default: now)")
    ] = None,
) -> list[OverrideOut]:
    """The city's overrides in force or to come (any role)."""
    now = container.clock.now().timestamp()
    found = container.schedules.overrides(city, user, since=since)
    return [OverrideOut.of(o, now) for o in found]


@router.post(f"{BASE}/overrides", response_model=OverrideOut, status_code=201)
def add_override(
    city: OperatorCity, user: UserDep, container: ContainerDep, body: OverrideIn
) -> OverrideOut:
    """Switch a scope's lights on, off or to a level from now (operator and up).

    Give ``expires_at`` or ``duration_min`` (31 days at most); the caller is
    recorded as who asked.
    """
    duration = None if body.duration_min is None else timedelta(minutes=body.duration_min)
    found = container.schedules.add_override(
        city, user, body.scope, body.key, mode=body.mode, level=body.level,
        expires_at=body.expires_at, duration=duration, reason=body.reason,
    )  # fmt: skip
    return OverrideOut.of(found, container.clock.now().timestamp())


@router.post(
    f"{BASE}/overrides/{{override_id}}/end", response_model=OverrideOut, responses=Conflict
)
def end_override(
    city: OperatorCity, user: UserDep, container: ContainerDep, override_id: OverrideId
) -> OverrideOut:
    """End an override now (operator and up); 409 once it is over."""
    found = container.schedules.end_override(city, user, override_id)
    return OverrideOut.of(found, container.clock.now().timestamp())


@router.get("/cities/{city}/assets/{code}/schedule", response_model=DayOut)
def asset_schedule(
    city: ReadableCity,
    container: ContainerDep,
    code: Code,
    day: Annotated[
        date | None, Query(alias="date", description="The local day (default: today in the city)")
    ] = None,
) -> DayOut:
    """What a streetlight should do on a local day, and why: profiles, entries, overrides, sun."""
    found = container.schedules.day(city, code, day)
    return DayOut.of(found, container.clock.now().timestamp())
