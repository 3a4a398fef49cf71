"""The fault rules judge each light against its own schedule, read from the store.

The street of :mod:`detection_rig` gets a profile: on at sunset at 100 %,
30 % from 22:00, off from 01:00 (a switch-off window), 30 % again from
04:00, off at sunrise. Lights that follow it raise nothing; a light lit in
the window is unexpectedly on; one left at full power after 22:00 fails to
dim, judged against 30 % and not the city's default 50 % from midnight.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time
from pathlib import Path

import pytest

from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.schedules import SqlScheduleStore
from signalight.domain.alarms import AlarmType
from signalight.domain.assignments import Assignment, Override, Scope
from signalight.domain.schedules import Anchor, Profile, Step
from signalight.services.detection import Detector
from tests.services.detection_rig import STEP, ZONE, Fleet, local

WINDOW_PROFILE = Profile(
    "residential, off in the small hours",
    (
        Step(Anchor.SUNSET, 100.0),
        Step(Anchor.CLOCK, 30.0, at=time(22)),
        Step(Anchor.CLOCK, 0.0, at=time(1)),
        Step(Anchor.CLOCK, 30.0, at=time(4)),
        Step(Anchor.SUNRISE, 0.0),
    ),
)
LIGHTS = ("N1", "N2", "N3", "N4", "N5", "H1", "N21")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqlDatabase]:
    database = SqlDatabase.connect(f"sqlite:///{tmp_path / 'signalight.db'}")
    database.migrate()
    yield database
    database.close()


def planned(t: float) -> float:
    """The profile's level at ``t``, written out by hand (sunset/sunrise from the rig)."""
    if not Fleet.night(t):
        return 0.0
    hour = datetime.fromtimestamp(t, ZONE).hour
    if 12 <= hour < 22:
        return 100.0
    if hour >= 22 or hour < 1 or hour >= 4:
        return 30.0
    return 0.0


def scheduled_fleet(db: SqlDatabase, start: float) -> tuple[Fleet, SqlScheduleStore]:
    fleet = Fleet(db, start=start)
    store = SqlScheduleStore(db.engine)
    profile_id = store.add_profile(fleet.city.pk, WINDOW_PROFILE, actor="test")
    store.add_assignment(fleet.city.pk, Assignment(0, Scope.CITY, "", profile_id), actor="test")
    fleet.detector = Detector(db.alarms, db.fleet, db.cities, wall=fleet.wall, schedules=store)
    return fleet, store


def follow(fleet: Fleet, skip: str | None = None) -> None:
    """Every light (but ``skip``) says what its profile asks at the next step."""
    level = planned(fleet.t + STEP)
    for uid in LIGHTS:
        if uid != skip:
            fleet.nodes[uid].on = level > 0
            fleet.nodes[uid].dim = level if level > 0 else 100.0


def run(fleet: Fleet, until: float, *, skip: str | None = None) -> None:
    while fleet.t + STEP <= until:
        follow(fleet, skip)
        fleet.step()


def test_lights_that_follow_their_profile_raise_nothing_all_night(db: SqlDatabase) -> None:
    fleet, _ = scheduled_fleet(db, local(15, 18))
    run(fleet, local(16, 9))
    assert fleet.summary() == []


def test_a_light_lit_in_its_switch_off_window_is_unexpectedly_on(db: SqlDatabase) -> None:
    fleet, _ = scheduled_fleet(db, local(15, 18))
    run(fleet, local(16, 0, 55))
    fleet.nodes["N2"].on, fleet.nodes["N2"].dim = True, 30.0  # ignores the window
    run(fleet, local(16, 2), skip="N2")
    alarm = fleet.only(AlarmType.LAMP_UNEXPECTED_ON, "SL-2")
    assert local(16, 1) < alarm.raised_at < local(16, 2)
    # The others, dark as planned in the window, are neither on nor failed.
    assert [a for a in fleet.alarms() if a.asset_code != "SL-2"] == []


def test_dimming_is_judged_against_the_lights_own_profile(db: SqlDatabase) -> None:
    fleet, _ = scheduled_fleet(db, local(15, 18))
    run(fleet, local(15, 21, 55))
    fleet.nodes["N3"].on, fleet.nodes["N3"].dim = True, 100.0  # never dims
    run(fleet, local(15, 23, 30), skip="N3")
    alarm = fleet.only(AlarmType.DIMMING_FAILURE, "SL-3")
    assert alarm.detail["expected"] == 30.0
    # Before 22:00 full power was the plan: it was not raised then.
    assert alarm.raised_at > local(15, 22)


def test_an_override_on_one_light_is_its_plan_until_it_expires(db: SqlDatabase) -> None:
    fleet, store = scheduled_fleet(db, local(15, 18))
    store.add_override(
        fleet.city.pk,
        Override(0, Scope.ASSET, "SL-4", 100.0, local(15, 23), local(16, 4), "festival", "op"),
    )
    run(fleet, local(15, 22, 55))
    fleet.nodes["N4"].on, fleet.nodes["N4"].dim = True, 100.0  # full on, as the override asks
    run(fleet, local(16, 3, 50), skip="N4")
    assert fleet.summary() == []  # at full power in the window: asked for, not a fault
    run(fleet, local(16, 5), skip="N4")  # past its expiry, still full on
    assert {a.type for a in fleet.alarms(code="SL-4")} == {AlarmType.DIMMING_FAILURE}
