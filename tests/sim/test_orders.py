"""The simulator's lamps burn as the commands their nodes ran tell them (the demo's loop closed)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from signalight.sim.command_nodes import NodeFleet
from signalight.sim.fleet_model import SimConfig
from signalight.sim.orders import Orders
from tests.sim.simulation import CITY, EVENING, NOON, run, simulator, ups

QUIET = SimConfig(seed=1, fault_rate_scale=0.0)


def down(device: str, kind: str, args: dict[str, object], at: datetime) -> tuple[str, bytes]:
    body = {"id": f"c-{kind}", "kind": kind, "args": args, "exp": int(at.timestamp()) + 600}
    body["t"] = int(at.timestamp())
    return f"signalight/{CITY.slug}/{device}/down", orjson.dumps(body)


def said(
    start: datetime, orders: Orders, device: str, seconds: float
) -> list[tuple[bool | None, float | None]]:
    sim = simulator(start, QUIET)
    for light in sim.model.lights:
        light.orders = orders
    found = [u for u in ups(run(sim, seconds)) if u.device == device]
    return [(u.readings["on"].bool_value, u.readings["dim"].value) for u in found]


def test_a_light_switched_off_at_night_reports_off_and_the_others_burn() -> None:
    sim = simulator(EVENING, QUIET)
    device = next(light.uid for light in sim.model.lights if light.uid)
    orders = Orders()
    fleet = NodeFleet(now=EVENING.timestamp, orders=orders)
    assert fleet.receive(*down(device, "switch", {"on": False}, EVENING)) is not None
    reports = said(EVENING, orders, device, 1800.0)
    assert reports
    assert {on for on, _ in reports} == {False}
    other = next(light.uid for light in sim.model.lights if light.uid and light.uid != device)
    assert {on for on, _ in said(EVENING, Orders(), other, 1800.0)} == {True}


def test_a_dim_holds_until_the_schedule_next_changes_and_an_override_until_its_end() -> None:
    sim = simulator(EVENING, QUIET)
    device = next(light.uid for light in sim.model.lights if light.uid)
    orders = Orders()
    orders.give(device, "dim", {"level": 30})
    # 22:00 local: the default schedule's next change is at midnight (50 %).
    reports = said(EVENING, orders, device, 2.5 * 3600.0)
    assert reports[0] == (True, 30.0)
    assert reports[-1] == (True, 50.0)  # past midnight: the schedule again
    by_day = Orders()
    until = NOON.timestamp() + 1200
    by_day.give(device, "override", {"on": True, "level": 80, "until": until})
    noon = said(NOON, by_day, device, 3600.0)
    assert noon[0] == (True, 80.0)
    assert noon[-1][0] is False  # the override over: off by day
    assert datetime.fromtimestamp(until, UTC) < datetime.fromtimestamp(NOON.timestamp() + 3600, UTC)
