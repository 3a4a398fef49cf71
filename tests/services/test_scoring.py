"""The scorer on plain values: outages, assets named by id, voltage and every alarm type."""

from __future__ import annotations

from datetime import UTC, datetime

from signalight.domain.alarms import Alarm, AlarmType, Severity
from signalight.domain.assets import Asset, AssetKind
from signalight.services import scoring
from signalight.services.scoring import FaultSite, Score, Truth
from signalight.sim.faults import DEFAULT_SPECS, FaultType

ZONE = "Asia/Kuala_Lumpur"
# 15 January 2026, 22:00 local in George Town: dark, lamps burning, not dimmed.
T0 = datetime(2026, 1, 15, 14, 0, tzinfo=UTC).timestamp()
END = T0 + 6 * 3600.0
CABINET_ID = 7


def fleet() -> dict[str, FaultSite]:
    """A metered cabinet ``CB-1`` (id 7) feeding five monitored lights, as stored."""
    cabinet = Asset(
        id=CABINET_ID,
        city_id=1,
        kind=AssetKind.CABINET,
        code="CB-1",
        lat=5.38,
        lon=100.4,
        device="m-1",
    )
    lights = [
        Asset(
            id=10 + n,
            city_id=1,
            kind=AssetKind.STREETLIGHT,
            code=f"SL-{n}",
            lat=5.38,
            lon=100.4,
            cabinet="CB-1",
            cabinet_id=CABINET_ID,
            device=f"n-{n}",
        )
        for n in range(1, 6)
    ]
    return scoring.sites_of([cabinet, *lights])


def alarm(
    kind: AlarmType, at: float, code: str | None, asset_id: int | None = None, *, held: bool = False
) -> Alarm:
    return Alarm(
        city_id=1,
        type=kind,
        severity=Severity.MAJOR,
        asset_code=code,
        asset_id=asset_id,
        raised_at=at,
        observed_at=at,
        updated_at=at,
        held=held,
    )


def scored(truths: list[Truth], alarms: list[Alarm]) -> Score:
    return scoring.score(truths, alarms, fleet(), zone=ZONE, start=T0, end=END)


def row(result: Score, kind: str) -> dict[str, object]:
    (found,) = [r for r in scoring.table(result) if r["type"] == kind]
    return found


def test_an_outage_the_meter_caught_is_expected_detected_and_counted_in_the_footer() -> None:
    # Seven minutes without mains: more than one meter interval (300 s), so the meter
    # reported "mains lost" within it, and the incident followed.
    outage = Truth("supplyLoss", "CB-1", T0 + 3600.0, T0 + 3600.0 + 420.0)
    incident = alarm(AlarmType.SUPPLY_LOSS, T0 + 3600.0 + 290.0, "CB-1", CABINET_ID)
    result = scored([outage], [incident])
    figures = row(result, "supplyLoss")
    assert {k: figures[k] for k in ("faults", "expected", "detected", "alarms", "true_alarms")} == {
        "faults": 1,
        "expected": 1,
        "detected": 1,
        "alarms": 1,
        "true_alarms": 1,
    }
    assert (figures["recall"], figures["precision"]) == (1.0, 1.0)
    assert (result.outages, result.incidents) == (1, 1)
    assert scoring.passes(result)


def test_a_fault_its_alarm_matched_is_expected_even_if_shorter_than_the_rule_needs() -> None:
    # A lamp out for four minutes, yet caught (one report of a dead lamp is enough).
    failure = Truth("lampFailure", "SL-1", T0 + 600.0, T0 + 840.0)
    result = scored([failure], [alarm(AlarmType.LAMP_FAILURE, T0 + 700.0, "SL-1")])
    figures = row(result, "lampFailure")
    assert (figures["faults"], figures["expected"], figures["detected"]) == (1, 1, 1)
    assert figures["recall"] == 1.0


def test_every_row_is_self_consistent() -> None:
    truths = [
        Truth("supplyLoss", "CB-1", T0 + 3600.0, T0 + 3900.0),  # five minutes, not caught
        Truth("lampFailure", "SL-2", T0 + 600.0, None),
        Truth("lampFailure", "SL-3", T0 + 600.0, T0 + 660.0),  # a minute: nothing to see
    ]
    alarms = [
        alarm(AlarmType.LAMP_FAILURE, T0 + 1200.0, "SL-2"),
        alarm(AlarmType.LAMP_FAILURE, T0 + 630.0, "SL-3"),  # caught all the same
    ]
    result = scored(truths, alarms)
    for figures in scoring.table(result):
        faults, expected, detected = figures["faults"], figures["expected"], figures["detected"]
        assert isinstance(faults, int)
        assert isinstance(expected, int)
        assert isinstance(detected, int)
        assert detected <= expected <= faults, figures
    lamps = row(result, "lampFailure")
    assert lamps["detected"] == lamps["true_alarms"] == 2
    assert result.outages == row(result, "supplyLoss")["expected"]
    assert result.incidents == row(result, "supplyLoss")["detected"] == 0


def test_an_incident_is_matched_by_its_asset_id_when_it_names_no_code() -> None:
    outage = Truth("supplyLoss", "CB-1", T0 + 3600.0, T0 + 7200.0)
    incident = alarm(AlarmType.SUPPLY_LOSS, T0 + 3900.0, None, CABINET_ID)
    result = scored([outage], [incident])
    figures = row(result, "supplyLoss")
    assert (figures["detected"], figures["alarms"], figures["true_alarms"]) == (1, 1, 1)
    assert (result.outages, result.incidents) == (1, 1)


def test_an_alarm_with_both_code_and_id_is_counted_once() -> None:
    outage = Truth("supplyLoss", "CB-1", T0 + 3600.0, T0 + 7200.0)
    by_both = alarm(AlarmType.SUPPLY_LOSS, T0 + 3900.0, "CB-1", CABINET_ID)
    # Another tool's export: its own spelling of the code, our asset id.
    by_id = alarm(AlarmType.SUPPLY_LOSS, T0 + 3900.0, "cabinet 1", CABINET_ID)
    for incident in (by_both, by_id):
        result = scored([outage], [incident])
        figures = row(result, "supplyLoss")
        assert (figures["detected"], figures["alarms"], figures["true_alarms"]) == (1, 1, 1)


def test_a_cabinet_voltage_fault_makes_its_own_and_its_lights_alarms_true() -> None:
    high = Truth("highVoltage", "CB-1", T0 + 600.0, T0 + 4200.0)
    alarms = [
        alarm(AlarmType.HIGH_VOLTAGE, T0 + 1200.0, "CB-1", CABINET_ID),
        *(alarm(AlarmType.HIGH_VOLTAGE, T0 + 1300.0, f"SL-{n}") for n in range(1, 6)),
    ]
    result = scored([high], alarms)
    figures = row(result, "highVoltage")
    assert (figures["faults"], figures["expected"], figures["detected"]) == (1, 1, 1)
    assert (figures["alarms"], figures["true_alarms"], figures["precision"]) == (6, 6, 1.0)
    assert scoring.passes(result)


def test_a_voltage_alarm_with_no_voltage_fault_is_false() -> None:
    result = scored([], [alarm(AlarmType.LOW_VOLTAGE, T0 + 1200.0, "SL-1")])
    figures = row(result, "lowVoltage")
    assert (figures["alarms"], figures["true_alarms"], figures["precision"]) == (1, 0, 0.0)


def test_every_alarm_type_is_a_fault_type_the_simulator_can_inject() -> None:
    # So that no correct alarm can be counted false for want of a name in the truth.
    assert set(scoring.SCORED.values()) == set(AlarmType)
    for fault, kind in scoring.SCORED.items():
        assert FaultType(fault) in DEFAULT_SPECS, fault
        assert str(kind) == fault


def test_an_incident_raised_late_by_the_lights_still_matches_a_short_outage() -> None:
    # The meter was late: the lights' silence raised the incident after the outage ended.
    outage = Truth("supplyLoss", "CB-1", T0 + 3600.0, T0 + 3600.0 + 420.0)
    late = alarm(AlarmType.SUPPLY_LOSS, T0 + 3600.0 + 420.0 + 600.0, "CB-1", CABINET_ID)
    result = scored([outage], [late])
    figures = row(result, "supplyLoss")
    assert (figures["detected"], figures["true_alarms"], figures["precision"]) == (1, 1, 1.0)
    assert (result.outages, result.incidents) == (1, 1)
