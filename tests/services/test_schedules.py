"""The schedules service: roles, keys, precedence, overrides, a light's day, every light's plan."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest

from signalight.adapters.clock import ManualClock
from signalight.adapters.sql.database import SqlDatabase
from signalight.container import Container
from signalight.domain.assets import StreetClass
from signalight.domain.assignments import Scope
from signalight.domain.cities import City
from signalight.domain.errors import ConflictError, InvalidInputError, PermissionDeniedError
from signalight.domain.users import Role, User
from signalight.settings import Settings
from tests.conftest import make_city
from tests.services.maintenance_rig import make_user
from tests.services.schedule_rig import NOW, add_lights, example

ZONE = ZoneInfo("Asia/Kuala_Lumpur")
DAY = date(2026, 3, 4)  # a Wednesday


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def app(settings: Settings, database: SqlDatabase, clock: ManualClock) -> Container:
    return Container(settings, database, clock=clock)


@pytest.fixture
def admin(app: Container, city: City) -> User:
    return make_user(app, city, Role.ADMIN)


class Metered(NamedTuple):
    """A light as the energy service asks for its planned energy (its MeteredLight)."""

    asset_id: int
    device_id: int
    code: str
    cabinet: str
    group: str
    street_class: str
    lat: float
    lon: float
    rated_watts: float | None
    luminaire: str | None


def _local(t: float) -> time:
    return datetime.fromtimestamp(t, ZONE).time()


def test_a_day_with_nothing_assigned_follows_the_city_default(
    app: Container, database: SqlDatabase, city: City
) -> None:
    [(_, code)] = add_lights(database, city)
    found = app.schedules.day(city, code, DAY)
    assert [n.source for n in found.nights] == ["city default (no profile assigned)"] * 2
    # The detection settings' default: 50 % from 00:00 to 05:00, full otherwise.
    levels = [(_local(s.start), s.level) for s in found.plan.segments]
    assert levels[:2] == [(time(0), 50.0), (time(5), 100.0)]
    assert levels[-1][1] == 100.0
    assert _local(found.plan.segments[-1].end) == time(0)  # lit past midnight


def test_the_example_profile_over_a_penang_day(
    app: Container, database: SqlDatabase, city: City, admin: User
) -> None:
    [(_, code)] = add_lights(database, city, street_class=StreetClass.LOCAL)
    pid = app.schedules.add_profile(city, admin, example())
    app.schedules.assign(city, admin, Scope.STREET_CLASS, "local", pid)
    found = app.schedules.day(city, code, DAY)
    sun = found.sun
    spans = [(_local(s.start), _local(s.end), s.level) for s in found.plan.segments]
    assert spans[:3] == [
        (time(0), time(1), 60.0),
        (time(1), time(5), 30.0),
        (time(5), _local(sun.sunrise - 600), 80.0),
    ]
    assert spans[3:] == [(_local(sun.sunset + 300), time(23), 100.0), (time(23), time(0), 60.0)]
    assert found.nights[1].source == "assignment (street_class local)"
    assert found.nights[1].profile.describe().startswith("sunset+5 min 100%")


def test_precedence_asset_group_cabinet_class_and_weekdays(
    app: Container, database: SqlDatabase, city: City, admin: User
) -> None:
    s = app.schedules
    lights = add_lights(
        database, city, 2, cabinet="CAB-1", group="park", street_class=StreetClass.LOCAL
    )
    (_, first), (_, second) = lights
    ids = {name: s.add_profile(city, admin, example(name)) for name in "abcdef"}
    s.assign(city, admin, Scope.CITY, "", ids["a"])
    s.assign(city, admin, Scope.STREET_CLASS, "local", ids["b"])
    assert s.day(city, first, DAY).nights[1].profile.name == "b"
    s.assign(city, admin, Scope.CABINET, "CAB-1", ids["c"])
    assert s.day(city, first, DAY).nights[1].profile.name == "c"
    s.assign(city, admin, Scope.GROUP, "park", ids["d"])
    assert s.day(city, first, DAY).nights[1].profile.name == "d"
    s.assign(city, admin, Scope.GROUP, "park", ids["e"], weekdays=[2])  # Wednesdays
    assert s.day(city, first, DAY).nights[1].profile.name == "e"
    assert s.day(city, first, DAY).nights[0].profile.name == "d"  # Tuesday's night
    s.assign(city, admin, Scope.ASSET, first, ids["f"])
    assert s.day(city, first, DAY).nights[1].profile.name == "f"
    assert s.day(city, second, DAY).nights[1].profile.name == "e"


def test_a_calendar_entry_beats_the_weekday_assignment(
    app: Container, database: SqlDatabase, city: City, admin: User
) -> None:
    s = app.schedules
    [(_, code)] = add_lights(database, city, group="park")
    weekday = s.add_profile(city, admin, example())
    festival = s.add_profile(city, admin, example("festival", full=True))
    s.assign(city, admin, Scope.ASSET, code, weekday)
    s.add_calendar_entry(city, admin, "Chap Goh Mei", DAY, DAY, festival)
    found = s.day(city, code, DAY)
    assert found.nights[0].profile.name == "residential"
    assert found.nights[1].source == "calendar 'Chap Goh Mei' (city)"
    assert found.plan.segments[-1].level == 100.0
    assert _local(found.plan.segments[-1].start) == _local(found.sun.sunset)


def test_an_override_lies_on_top_until_it_expires_or_ends(
    app: Container, database: SqlDatabase, city: City, clock: ManualClock
) -> None:
    s = app.schedules
    operator = make_user(app, city, Role.OPERATOR)
    [(_, code)] = add_lights(database, city, cabinet="CAB-2")
    override = s.add_override(
        city, operator, Scope.CABINET, "CAB-2", mode="level", level=40,
        duration=timedelta(hours=2), reason="night works",
    )  # fmt: skip
    assert override.by == operator.username
    found = s.day(city, code, DAY)  # 08:00 to 10:00 local, in daylight
    assert found.overrides == (override,)
    assert found.plan.level_at(NOW.timestamp() + 3600) == 40.0
    assert found.plan.level_at(NOW.timestamp() + 7300) == 0.0
    later = s.add_override(
        city, operator, Scope.ASSET, code, mode="off", duration=timedelta(hours=1), reason="x"
    )
    assert s.day(city, code, DAY).plan.level_at(NOW.timestamp() + 1800) == 0.0  # newest on top
    clock.advance(timedelta(minutes=30))
    ended = s.end_override(city, operator, later.id)
    assert ended.expires == clock.now().timestamp()
    assert s.day(city, code, DAY).plan.level_at(NOW.timestamp() + 3000) == 40.0
    with pytest.raises(ConflictError, match="over already"):
        s.end_override(city, operator, later.id)
    clock.advance(timedelta(hours=3))
    assert s.overrides(city, operator) == []
    assert [o.id for o in s.overrides(city, operator, since=NOW)] == [override.id, later.id]


def test_keys_that_name_nothing_are_refused(
    app: Container, database: SqlDatabase, city: City, admin: User
) -> None:
    s = app.schedules
    add_lights(database, city, cabinet="CAB-3", group="park")
    pid = s.add_profile(city, admin, example())
    for scope, key, said in [
        (Scope.ASSET, "NOPE", "no streetlight 'NOPE'"),
        (Scope.ASSET, "CAB-3", "no streetlight 'CAB-3'"),
        (Scope.GROUP, "garden", "no group 'garden'"),
        (Scope.CABINET, "CAB-4", "no cabinet 'CAB-4'"),
        (Scope.STREET_CLASS, "residential", "no street class 'residential'"),
        (Scope.CITY, "x", "takes no key"),
    ]:
        with pytest.raises(InvalidInputError, match=said):
            s.assign(city, admin, scope, key, pid)
        with pytest.raises(InvalidInputError, match=said):
            s.add_override(city, admin, scope, key, mode="on", duration=timedelta(hours=1),
                           reason="r")  # fmt: skip
    with pytest.raises(InvalidInputError, match="no schedule profile"):
        s.assign(city, admin, Scope.GROUP, "park", pid + 1000)
    other = make_city(database)
    other_admin = make_user(app, other, Role.ADMIN)
    with pytest.raises(InvalidInputError, match="no schedule profile"):
        s.assign(other, other_admin, Scope.CITY, "", pid)  # another city's profile


def test_roles(app: Container, database: SqlDatabase, city: City, admin: User) -> None:
    s = app.schedules
    add_lights(database, city, group="park")
    operator = make_user(app, city, Role.OPERATOR)
    crew = make_user(app, city, Role.CREW)
    viewer = make_user(app, city, Role.VIEWER)
    stranger = make_user(app, make_city(database), Role.ADMIN)
    with pytest.raises(PermissionDeniedError):
        s.add_profile(city, operator, example())
    pid = s.add_profile(city, admin, example())
    with pytest.raises(PermissionDeniedError):
        s.assign(city, operator, Scope.GROUP, "park", pid)
    with pytest.raises(PermissionDeniedError):
        s.add_calendar_entry(city, operator, "x", DAY, DAY, pid)
    with pytest.raises(PermissionDeniedError):
        s.add_override(city, crew, Scope.CITY, "", mode="on", duration=timedelta(hours=1),
                       reason="r")  # fmt: skip
    s.add_override(city, operator, Scope.CITY, "", mode="on", duration=timedelta(hours=1),
                   reason="r")  # fmt: skip
    assert list(s.profiles(city, viewer)) == [pid]
    assert len(s.overrides(city, viewer)) == 1
    with pytest.raises(PermissionDeniedError):
        s.profiles(city, stranger)


def test_every_lights_plan_matches_its_own_day_and_its_energy(
    app: Container, database: SqlDatabase, city: City, admin: User
) -> None:
    s = app.schedules
    lights = add_lights(database, city, 3, group="park", street_class=StreetClass.LOCAL)
    pid = s.add_profile(city, admin, example())
    s.assign(city, admin, Scope.STREET_CLASS, "local", pid)
    s.add_override(city, admin, Scope.ASSET, lights[0][1], mode="on",
                   duration=timedelta(hours=1), reason="test")  # fmt: skip
    plans = s.plans(city, DAY)
    assert set(plans) == {light_id for light_id, _ in lights}
    for light_id, code in lights:
        own = s.day(city, code, DAY).plan
        assert len(plans[light_id].segments) == len(own.segments)
        for a, b in zip(plans[light_id].segments, own.segments, strict=True):
            assert a.level == b.level
            assert abs(a.start - b.start) < 60
            assert abs(a.end - b.end) < 60
    assert plans[lights[1][0]] is plans[lights[2][0]]  # alike: planned once
    light = Metered(lights[1][0], 0, lights[1][1], "", "park", "local", 5.38, 100.40, 100.0, "led")
    unrated = light._replace(asset_id=lights[2][0], rated_watts=None)
    energy = s.planned_wh(city, [light, unrated], DAY)
    led = {100.0: 1.0, 80.0: 0.81, 60.0: 0.62, 30.0: 0.335}
    expected = sum(100 * led[g.level] * (g.end - g.start) for g in plans[lights[1][0]].segments)
    assert energy == {lights[1][0]: pytest.approx(expected / 3600)}
    assert 700 < energy[lights[1][0]] < 1100  # about 12 dark hours, dimmed for half
