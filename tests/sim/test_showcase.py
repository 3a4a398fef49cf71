"""The demo's planned faults: one of each detected kind, each at a time it can show, at any hour."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from signalight.cli.demo_fleet import HISTORY_S
from signalight.sim import showcase
from signalight.sim.faults import FaultType
from signalight.sim.nodes import LightNode
from signalight.sim.truth import read_truth
from tests.sim.simulation import NOON, simulator

# The demo's span: any start hour, at either end of the year, has room for every kind.
SPAN_S = HISTORY_S
HOURS = [
    day + timedelta(minutes=30 * n) for day in (NOON, NOON + timedelta(days=181)) for n in range(48)
]


MARGIN_S = 15 * 60.0  # the rules judge nothing this close to sunrise and sunset


def _dark(light: LightNode, at: float) -> bool:
    """Whether the sun is down at the light's own pole (its schedule, not the plan's sums)."""
    return light.schedule.state(light.cell, 0.0, at)[0]


@pytest.mark.parametrize("start", HOURS, ids=lambda t: t.strftime("%b-%H%MZ"))
def test_every_detected_kind_is_planned_where_it_shows(start: datetime) -> None:
    sim = simulator(start)
    end = sim.now + SPAN_S
    planned = showcase.plan(sim, end)

    assert {i.type for i in planned} == showcase.DETECTED
    assert len({i.asset for i in planned}) == len(planned)
    for injection in planned:
        assert sim.now <= injection.start <= end - showcase.SHOWS_AFTER_S
        model = sim.model.by_code[injection.asset]
        assert model.uid is not None
        # Dark (or light) at both ends, so all along: shorter than a day or a night.
        if injection.type in showcase.NIGHT_FAULTS:
            assert isinstance(model, LightNode)
            assert _dark(model, injection.start - MARGIN_S)
            assert _dark(model, injection.start + showcase.NIGHT_NEEDS_S + MARGIN_S)
        if injection.type in showcase.DAY_FAULTS:
            assert isinstance(model, LightNode)
            assert not _dark(model, injection.start - 2 * MARGIN_S)
            assert not _dark(model, injection.start + showcase.DAY_NEEDS_S + 2 * MARGIN_S)
        if injection.type in (
            FaultType.SUPPLY_LOSS,
            *(kind for kind, _, _ in showcase.SIGNAL_FAULTS),
        ):
            assert injection.duration is not None
            assert injection.start + injection.duration > end  # still out when the demo goes live
        elif isinstance(model, LightNode):
            outage = next(i for i in planned if i.type is FaultType.SUPPLY_LOSS)
            assert model.cabinet.code != outage.asset
    dimming = next(i for i in planned if i.type is FaultType.DIMMING_FAILURE)
    assert dimming.level not in (100.0, sim.config.night_dim)


def test_a_short_span_plans_only_what_can_show() -> None:
    sim = simulator(NOON)  # midday: no night in the next hour
    planned = showcase.plan(sim, sim.now + 3600.0)
    kinds = {i.type for i in planned}
    assert not kinds & set(showcase.NIGHT_FAULTS)
    assert FaultType.SUPPLY_LOSS in kinds
    assert showcase.plan(sim, sim.now + 600.0) == []


def test_the_planned_faults_start_in_the_simulation(tmp_path: Path) -> None:
    truth = tmp_path / "truth.jsonl"
    sim = simulator(NOON, truth=truth)
    end = sim.now + SPAN_S
    planned = showcase.plan(sim, end)
    for injection in planned:
        sim.inject(injection)
    for _ in sim.messages(end):
        pass
    assert sim.truth is not None
    sim.truth.close()
    started = {(e.fault, e.asset) for e in read_truth(truth)}
    assert {(str(i.type), i.asset) for i in planned} <= started
    dimming = next(i for i in planned if i.type is FaultType.DIMMING_FAILURE)
    fault = sim.active[dimming.asset]
    assert fault.level == dimming.level
    cycling = next(i for i in planned if i.type is FaultType.CYCLING_FAILURE)
    assert sim.active[cycling.asset].level == showcase.CYCLING_PERIOD_S
