"""A night's plan from a profile: steps by the sun and the clock, windows, polar nights, DST."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from signalight.domain.assignments import (
    Assignment,
    CalendarEntry,
    CitySchedules,
    LightKeys,
    Override,
    Scope,
    default_profile,
)
from signalight.domain.errors import InvalidInputError
from signalight.domain.schedules import (
    Anchor,
    ClockWindow,
    NightSun,
    Plan,
    Profile,
    Segment,
    Step,
    night_plan,
)
from signalight.domain.sun import LocalDays, SunTable

PENANG = ZoneInfo("Asia/Kuala_Lumpur")
OSLO = ZoneInfo("Europe/Oslo")
EXAMPLE = Profile(
    "the issue's example",
    (
        Step(Anchor.SUNSET, 100.0, offset_min=5),
        Step(Anchor.CLOCK, 60.0, at=time(23)),
        Step(Anchor.CLOCK, 30.0, at=time(1)),
        Step(Anchor.CLOCK, 80.0, at=time(5)),
        Step(Anchor.SUNRISE, 0.0, offset_min=-10),
    ),
)


def plan(profile: Profile, zone: ZoneInfo, lat: float, lon: float, night: date) -> Plan:
    sun, days = SunTable(zone, 1e-6), LocalDays(zone)
    cell = sun.cell(lat, lon)
    both = NightSun(sun.twilight(cell, night), sun.twilight(cell, night + timedelta(days=1)))
    return night_plan(profile, night, both, days)


def local(zone: ZoneInfo, t: float) -> str:
    return datetime.fromtimestamp(t, zone).strftime("%d %H:%M")


def steps(found: Plan, zone: ZoneInfo) -> list[tuple[str, str, float]]:
    return [(local(zone, s.start), local(zone, s.end), s.level) for s in found.segments]


def test_the_issues_example_in_penang() -> None:
    found = plan(EXAMPLE, PENANG, 5.4164, 100.3327, date(2026, 12, 3))
    sun = SunTable(PENANG, 1e-6)
    events = sun.twilight(sun.cell(5.4164, 100.3327), date(2026, 12, 3))
    morning = sun.twilight(sun.cell(5.4164, 100.3327), date(2026, 12, 4))
    assert found.segments[0].start == pytest.approx(events.sunset + 300, abs=0.01)
    assert found.segments[-1].end == pytest.approx(morning.sunrise - 600, abs=0.01)
    middle = [(a[3:], b[3:], level) for a, b, level in steps(found, PENANG)[1:-1]]
    assert middle == [("23:00", "01:00", 60.0), ("01:00", "05:00", 30.0)]
    assert found.segments[-1].level == 80.0
    assert found.level_at(found.segments[0].start - 1) == 0
    assert found.level_at(datetime(2026, 12, 4, 2, tzinfo=PENANG).timestamp()) == 30.0


def test_a_step_after_a_summer_sunrise_does_not_apply() -> None:
    # Oslo in June: sunrise about 03:54, so the 05:00 step at 80% never comes.
    found = plan(EXAMPLE, OSLO, 59.9139, 10.7522, date(2026, 6, 20))
    assert 80.0 not in {s.level for s in found.segments}
    assert found.segments[-1].level == 30.0


def test_switch_off_windows_cut_the_lit_span() -> None:
    windowed = Profile(
        "park path",
        (Step(Anchor.SUNSET, 100.0), Step(Anchor.SUNRISE, 0.0)),
        (ClockWindow(time(1), time(4, 30)),),
    )
    found = plan(windowed, PENANG, 5.4, 100.3, date(2026, 3, 10))
    segments = steps(found, PENANG)
    assert len(segments) == 2
    assert segments[0][1] == "11 01:00"
    assert segments[1][0] == "11 04:30"
    assert found.level_at(datetime(2026, 3, 11, 3, tzinfo=PENANG).timestamp()) == 0


def test_a_polar_night_is_lit_from_noon_to_noon_and_a_midnight_sun_not_at_all() -> None:
    on_off = Profile("dusk to dawn", (Step(Anchor.SUNSET, 100.0, 10), Step(Anchor.SUNRISE, 0.0)))
    polar = plan(on_off, OSLO, 78.2232, 15.6267, date(2026, 12, 20))  # Longyearbyen
    assert steps(polar, OSLO) == [("20 12:00", "21 12:00", 100.0)]
    midnight_sun = plan(on_off, OSLO, 78.2232, 15.6267, date(2026, 6, 20))
    assert midnight_sun.segments == ()


def test_a_white_night_never_reaches_civil_dusk() -> None:
    by_twilight = Profile("dusk to dawn", (Step(Anchor.DUSK, 100.0), Step(Anchor.DAWN, 0.0)))
    # Trondheim (63.4 N) at midsummer: the sun never sinks 6 degrees below the horizon.
    assert plan(by_twilight, OSLO, 63.43, 10.39, date(2026, 6, 21)).segments == ()
    assert plan(by_twilight, OSLO, 63.43, 10.39, date(2026, 9, 21)).segments != ()


@pytest.mark.parametrize("night", [date(2026, 3, 28), date(2026, 10, 24)])
def test_clock_steps_keep_the_wall_clock_across_daylight_saving_changes(night: date) -> None:
    found = plan(EXAMPLE, OSLO, 59.9139, 10.7522, night)
    starts = [local(OSLO, s.start)[3:] for s in found.segments]
    assert "23:00" in starts
    assert "01:00" in starts
    assert "05:00" in starts
    lit = sum(s.end - s.start for s in found.segments)
    sun = SunTable(OSLO, 1e-6)
    cell = sun.cell(59.9139, 10.7522)
    dark = sun.twilight(cell, night + timedelta(days=1)).sunrise - sun.twilight(cell, night).sunset
    assert lit == pytest.approx(dark - 900, abs=1)  # sunset+5 to sunrise-10, in real seconds


def test_profiles_that_cannot_run_are_refused_with_every_reason() -> None:
    with pytest.raises(InvalidInputError) as raised:
        Profile("bad", (Step(Anchor.SUNRISE, 0.0), Step(Anchor.CLOCK, 120.0, at=time(3)))).check()
    text = str(raised.value)
    assert "first step" in text
    assert "between 0 and 100" in text
    assert "last step switches the light off" in text
    with pytest.raises(InvalidInputError, match="clock step needs its time"):
        Profile("bad", (Step(Anchor.CLOCK, 50.0), Step(Anchor.SUNRISE, 0.0))).check()


def test_overrides_lay_over_a_plan_and_energy_follows_the_levels() -> None:
    base = Plan((Segment(0.0, 3600.0, 100.0), Segment(3600.0, 7200.0, 50.0)), (0.0, 3600.0, 7200.0))
    over = base.overridden([(1800.0, 5400.0, 0.0)])
    assert [tuple(s) for s in over.segments] == [(0.0, 1800.0, 100.0), (5400.0, 7200.0, 50.0)]
    assert over.energy_wh(100.0, lambda level: level / 100) == pytest.approx(50 + 25)


def test_precedence_calendar_over_assignments_most_specific_scope_first() -> None:
    full = Profile("full", (Step(Anchor.SUNSET, 100.0), Step(Anchor.SUNRISE, 0.0)))
    half = Profile("half", (Step(Anchor.SUNSET, 50.0), Step(Anchor.SUNRISE, 0.0)))
    fest = Profile("festival", (Step(Anchor.SUNSET, 100.0), Step(Anchor.CLOCK, 0.0, at=time(6))))
    schedules = CitySchedules(
        {1: full, 2: half, 3: fest},
        [
            Assignment(1, Scope.CITY, "", 1),
            Assignment(2, Scope.STREET_CLASS, "local", 2),
            Assignment(3, Scope.STREET_CLASS, "local", 1, frozenset({4})),  # Fridays
        ],
        [CalendarEntry(1, "Deepavali", date(2026, 11, 8), date(2026, 11, 8), Scope.CITY, "", 3)],
        [Override(1, Scope.ASSET, "SL-1", 0.0, 0.0, 10.0, "repair", "crew")],
        default_profile(50.0, time(0), time(5)),
    )
    light = LightKeys("SL-1", street_class="local")
    assert schedules.choose(light, date(2026, 11, 4)).profile is half  # a Wednesday
    assert schedules.choose(light, date(2026, 11, 6)).profile is full  # Friday's own
    assert schedules.choose(light, date(2026, 11, 8)).source.startswith("calendar 'Deepavali'")
    assert schedules.choose(LightKeys("SL-9"), date(2026, 11, 4)).profile is full
    assert [o.id for o in schedules.overrides_for(light, 5.0, 6.0)] == [1]
    assert schedules.overrides_for(LightKeys("SL-2"), 5.0, 6.0) == []
    nothing = CitySchedules({}, [], [], [], default_profile(50.0, time(0), time(5)))
    assert nothing.choose(light, date(2026, 11, 4)).source.startswith("city default")
