"""The simulator's nodes run a dimming profile, as a node sent its profile does offline."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from signalight.domain.schedules import Anchor, ClockWindow, Profile, Step
from signalight.sim.fleet_model import SimConfig
from tests.sim.simulation import run, simulator, ups

ZONE = ZoneInfo("Asia/Kuala_Lumpur")
TWO_STEP = Profile(
    "two steps",
    (
        Step(Anchor.SUNSET, 100.0, offset_min=5),
        Step(Anchor.CLOCK, 40.0, at=time(23)),
        Step(Anchor.SUNRISE, 0.0, offset_min=-10),
    ),
    (ClockWindow(time(2), time(3)),),
)
CONFIG = SimConfig(seed=1, fault_rate_scale=0.0, profile=TWO_STEP)


def lights(start: datetime, seconds: float) -> list:  # type: ignore[type-arg]
    messages = run(simulator(start, CONFIG), seconds)
    return [u for u in ups(messages) if u.device.startswith("n-")]


@pytest.mark.parametrize(
    ("local_start", "on", "dim"),
    [
        (datetime(2026, 1, 15, 21, 0, tzinfo=ZONE), True, 100.0),  # after sunset, before 23:00
        (datetime(2026, 1, 16, 0, 30, tzinfo=ZONE), True, 40.0),  # the second step
        (datetime(2026, 1, 16, 2, 15, tzinfo=ZONE), False, None),  # the switch-off window
        (datetime(2026, 1, 16, 12, 0, tzinfo=ZONE), False, None),  # by day
    ],
)
def test_nodes_burn_at_the_level_their_profile_asks(
    local_start: datetime, on: bool, dim: float | None
) -> None:
    # Ten minutes of reports, well inside each span (a node's clock is off by minutes).
    reports = lights(local_start.astimezone(UTC), 600.0)
    assert reports
    assert {u.readings["on"].bool_value for u in reports} == {on}
    if dim is not None:
        assert {u.readings["dim"].value for u in reports} == {dim}
    else:
        assert all(u.readings["power"].value < 2.0 for u in reports)


def test_a_profile_switching_on_after_sunset_keeps_lights_off_until_then() -> None:
    late = Profile("late", (Step(Anchor.CLOCK, 100.0, at=time(21)), Step(Anchor.SUNRISE, 0.0)))
    config = SimConfig(seed=1, fault_rate_scale=0.0, profile=late)
    start = datetime(2026, 1, 15, 20, 0, tzinfo=ZONE).astimezone(UTC)  # after sunset (19:23)
    reports = [u for u in ups(run(simulator(start, config), 1800.0)) if u.device.startswith("n-")]
    assert reports
    assert not any(u.readings["on"].bool_value for u in reports)
