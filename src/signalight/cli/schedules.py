"""`signalight schedule`: dimming profiles, who follows them, overrides, and a light's day.

The command line acts as an admin of the city named ``cli:<os user>``
(``override`` takes ``--as NAME`` to act as an operator). Profiles are
files in the JSON the API takes and the nodes run (``docs/energy.md``).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Final
from zoneinfo import ZoneInfo

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from signalight.cli.context import console, friendly, opened
from signalight.cli.users import acting_user
from signalight.codecs.profiles import profile_from_json, profile_to_json
from signalight.domain.assignments import Scope
from signalight.domain.errors import InvalidInputError

app = typer.Typer(
    help="Lighting schedules: profiles, assignments, calendar, overrides.", no_args_is_help=True
)
profile_app = typer.Typer(help="Dimming profiles.", no_args_is_help=True)
calendar_app = typer.Typer(
    help="Holidays and events that override the weekday profile.", no_args_is_help=True
)
override_app = typer.Typer(
    help="Manual overrides: on, off or a level, until they expire.", no_args_is_help=True
)
app.add_typer(profile_app, name="profile")
app.add_typer(calendar_app, name="calendar")
app.add_typer(override_app, name="override")

CityArg = Annotated[str, typer.Argument(help="City slug")]
ScopeOpt = Annotated[Scope, typer.Option(help="What the entry applies to")]
KeyOpt = Annotated[
    str,
    typer.Option(
        help="The asset's, group's or cabinet's code or name, or a street class; none for the city"
    ),
]
_DURATION: Final = re.compile(r"^(\d+)([mhd])$")
_UNITS: Final = {"m": 60, "h": 3600, "d": 86400}


def _print(text: str) -> None:
    console.print(text, highlight=False, markup=False)


@profile_app.command("add")
@friendly
def profile_add(
    city: CityArg,
    file: Annotated[
        Path,
        typer.Option(
            "--file", help="The profile as JSON", exists=True, dir_okay=False, readable=True
        ),
    ],
) -> None:
    """Add a profile from a JSON file; prints its id."""
    try:
        document = orjson.loads(file.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InvalidInputError(f"{file}: not JSON ({exc})") from None
    profile = profile_from_json(document)
    with opened() as container:
        target = container.cities.get(city)
        pid = container.schedules.add_profile(target, acting_user(container, target, None), profile)
    _print(f"profile {pid} {profile.name!r}: {profile.describe()}")


@profile_app.command("list")
@friendly
def profile_list(city: CityArg) -> None:
    """List the city's profiles, in words."""
    with opened() as container:
        target = container.cities.get(city)
        found = container.schedules.profiles(target, acting_user(container, target, None))
    table = Table("id", "name", "steps")
    for pid, profile in found.items():
        table.add_row(str(pid), escape(profile.name), escape(profile.describe()))
    console.print(table)


@profile_app.command("show")
@friendly
def profile_show(
    city: CityArg, name: Annotated[str, typer.Argument(help="The profile's name")]
) -> None:
    """Print a profile as JSON (the document the API takes and the nodes run)."""
    with opened() as container:
        target = container.cities.get(city)
        user = acting_user(container, target, None)
        profile = container.schedules.profile(
            target, user, container.schedules.profile_id(target, user, name)
        )
    _print(orjson.dumps(profile_to_json(profile), option=orjson.OPT_INDENT_2).decode())


@app.command("assign")
@friendly
def assign(
    city: CityArg,
    profile: Annotated[str, typer.Option(help="The profile's name")],
    scope: ScopeOpt,
    key: KeyOpt = "",
    weekdays: Annotated[
        str | None, typer.Option(help="Nights of these weekdays only, 0 (Monday) to 6, e.g. 4,5")
    ] = None,
) -> None:
    """Lights of the scope follow the profile (on some weekdays' nights); prints its id."""
    days = range(7) if weekdays is None else _weekdays(weekdays)
    with opened() as container:
        target = container.cities.get(city)
        user = acting_user(container, target, None)
        pid = container.schedules.profile_id(target, user, profile)
        made = container.schedules.assign(target, user, scope, key, pid, weekdays=days)
    _print(
        f"assignment {made.id}: {_where(scope, key)} follows {profile!r}"
        f" on weekdays {','.join(str(d) for d in sorted(made.weekdays))}"
    )


@calendar_app.command("add")
@friendly
def calendar_add(
    city: CityArg,
    name: Annotated[str, typer.Option(help="The holiday or event")],
    first: Annotated[str, typer.Option(help="Its first night, YYYY-MM-DD")],
    last: Annotated[str, typer.Option(help="Its last night, YYYY-MM-DD (included)")],
    profile: Annotated[str, typer.Option(help="The profile's name")],
    scope: ScopeOpt = Scope.CITY,
    key: KeyOpt = "",
) -> None:
    """Those nights, the scope's lights follow the profile over the weekday one."""
    with opened() as container:
        target = container.cities.get(city)
        user = acting_user(container, target, None)
        pid = container.schedules.profile_id(target, user, profile)
        made = container.schedules.add_calendar_entry(
            target, user, name, _date(first, "--first"), _date(last, "--last"), pid, scope, key
        )
    _print(
        f"calendar entry {made.id} {made.name!r}: nights {made.first} to {made.last},"
        f" {_where(scope, key)} follows {profile!r}"
    )


@override_app.command("add")
@friendly
def override_add(
    city: CityArg,
    scope: ScopeOpt,
    mode: Annotated[str, typer.Option(help="on, off or level")],
    for_: Annotated[str, typer.Option("--for", help="How long: 30m, 2h, 3d")],
    reason: Annotated[str, typer.Option(help="Why (500 characters)")],
    key: KeyOpt = "",
    level: Annotated[float | None, typer.Option(help="Percent, with --mode level")] = None,
    as_user: Annotated[str | None, typer.Option("--as", help="Act as this user")] = None,
) -> None:
    """Switch the scope's lights on, off or to a level from now; prints its id."""
    with opened() as container:
        target = container.cities.get(city)
        made = container.schedules.add_override(
            target,
            acting_user(container, target, as_user),
            scope,
            key,
            mode=mode,
            level=level,
            duration=_duration(for_),
            reason=reason,
        )
    until = datetime.fromtimestamp(made.expires, ZoneInfo(target.timezone))
    _print(
        f"override {made.id}: {_where(scope, key)} at {made.level:g}% until"
        f" {until:%Y-%m-%d %H:%M} ({target.timezone})"
    )


@override_app.command("end")
@friendly
def override_end(
    city: CityArg,
    override_id: Annotated[int, typer.Argument(help="The override's id", min=1)],
    as_user: Annotated[str | None, typer.Option("--as", help="Act as this user")] = None,
) -> None:
    """End an override now."""
    with opened() as container:
        target = container.cities.get(city)
        container.schedules.end_override(
            target, acting_user(container, target, as_user), override_id
        )
    _print(f"override {override_id} ended")


@app.command("show")
@friendly
def show(
    city: CityArg,
    code: Annotated[str, typer.Argument(help="The streetlight's code")],
    on: Annotated[str | None, typer.Option("--date", help="The local day (default today)")] = None,
) -> None:
    """Print what a streetlight should do on a day, and why."""
    with opened() as container:
        target = container.cities.get(city)
        day = container.schedules.day(target, code, None if on is None else _date(on, "--date"))
    zone = ZoneInfo(day.zone)

    def hm(t: float) -> str:
        return f"{datetime.fromtimestamp(t, zone):%H:%M}" if math.isfinite(t) else "none"

    _print(f"{day.code} on {day.day} ({day.zone})")
    sun = day.sun
    _print(
        f"sun: dawn {hm(sun.dawn)}, sunrise {hm(sun.sunrise)}, sunset {hm(sun.sunset)},"
        f" dusk {hm(sun.dusk)}"
    )
    for part, night in zip(("morning", "evening"), day.nights, strict=True):
        _print(
            f"{part}: night of {night.night}: profile {night.profile.name!r} by"
            f" {night.source}: {night.profile.describe()}"
        )
    for o in day.overrides:
        _print(
            f"override {o.id}: {o.level:g}% {hm(o.starts)} to {hm(o.expires)} by {o.by}: {o.reason}"
        )
    if not day.plan.segments:
        _print("off all day")
    for seg in day.plan.segments:
        end = "24:00" if seg.end >= day.end else hm(seg.end)
        _print(f"  {hm(seg.start)}-{end}  {seg.level:g}%")
    _print(f"lit {day.plan.lit_hours():.2f} h")


def _where(scope: Scope, key: str) -> str:
    return f"{scope} {key}" if key else str(scope)


def _weekdays(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InvalidInputError(f"--weekdays: numbers 0 to 6 by commas, not {text!r}") from None


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(f"{option}: {text!r} is not a date YYYY-MM-DD") from None


def _duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if match is None:
        raise InvalidInputError(f"--for: a number and m, h or d (30m, 2h, 3d), not {text!r}")
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]])
