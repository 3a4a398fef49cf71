"""The fault detector on a small street in George Town, over a real SQLite alarm store.

Each scenario drives the street (``detection_rig``) through a night or a day
in 300 s steps and reads the alarms back from the store. Sun times on 15 and
16 January 2026: sunrise about 07:32, sunset about 19:23 local (UTC+8).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time
from pathlib import Path
from time import monotonic, sleep

import pytest
from sqlalchemy import update

from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.tables import devices
from signalight.domain.alarms import AlarmQuery, AlarmState, AlarmType, EventKind, Severity
from signalight.domain.assets import AssetStatus, LuminaireType
from signalight.domain.errors import InvalidInputError
from signalight.domain.faults import (
    DEFAULT_CURVES,
    DEFAULT_SEVERITIES,
    DetectionSettings,
    PowerCurve,
)
from signalight.services.detection_loop import DetectionLoop
from tests.services.detection_rig import CABINET_LIGHTS, STEP, Fleet, daylight, local

RAISED, CLEARED, CLOSED = AlarmState.RAISED, AlarmState.CLEARED, AlarmState.CLOSED
LAMP, COMM = AlarmType.LAMP_FAILURE, AlarmType.COMMUNICATION_FAILURE
DAY_ON, CYCLING = AlarmType.LAMP_UNEXPECTED_ON, AlarmType.CYCLING_FAILURE
DIMMING, OUTAGE = AlarmType.DIMMING_FAILURE, AlarmType.SUPPLY_LOSS
CABINET_CODES = [f"SL-{i}" for i in range(1, 6)]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqlDatabase]:
    """A migrated SQLite database of this test's own, so that a detector sees only its street."""
    database = SqlDatabase.connect(f"sqlite:///{tmp_path / 'signalight.db'}")
    database.migrate()
    yield database
    database.close()


def evening(db: SqlDatabase) -> Fleet:
    """The street burning since dusk, at 22:00 on 15 January with intervals learnt."""
    fleet = Fleet(db, start=local(15, 21))
    fleet.until(local(15, 22))
    return fleet


# A healthy street.


def test_a_healthy_street_raises_nothing_through_a_night_and_a_day(db: SqlDatabase) -> None:
    fleet = Fleet(db, start=local(15, 17))
    # Dusk, the 00:00 and 05:00 dimming steps, dawn, a whole day and the next dusk.
    fleet.until(local(16, 20))
    assert fleet.summary() == []
    stats = fleet.detector.stats()
    assert stats.devices == 8
    assert (stats.raised, stats.held, stats.cleared) == (0, 0, 0)


# lampFailure


def test_a_dead_lamp_is_raised_on_its_first_report(db: SqlDatabase) -> None:
    fleet = evening(db)
    fleet.nodes["N1"].power = 2.0
    fleet.step()
    alarm = fleet.only(LAMP, "SL-1")
    assert (alarm.state, alarm.raised_at, alarm.severity) == (RAISED, local(15, 22, 5), "minor")
    assert alarm.detail["power"] == 2.0
    assert alarm.detail["expected"] == 100.0
    assert alarm.message == "draws 2.0 W where 100 W is expected at 100% dim"
    assert fleet.summary() == [("lampFailure", "SL-1", "raised")]


def test_a_weak_lamp_is_raised_after_two_reports_and_cleared_after_two_good_ones(
    db: SqlDatabase,
) -> None:
    fleet = evening(db)
    node = fleet.nodes["N2"]
    node.power = 40.0  # 0.4 of the 100 W expected: low, but not dead
    fleet.step()
    assert fleet.alarms(LAMP) == []
    fleet.step()
    alarm = fleet.only(LAMP, "SL-2")
    assert (alarm.state, alarm.raised_at) == (RAISED, local(15, 22, 10))
    node.power = None  # mended
    fleet.step()
    assert fleet.only(LAMP, "SL-2").state is RAISED
    fleet.step()
    alarm = fleet.only(LAMP, "SL-2")
    assert (alarm.state, alarm.cleared_at) == (CLEARED, local(15, 22, 20))
    assert fleet.events(alarm) == [EventKind.RAISED, EventKind.CLEARED]
    assert fleet.summary() == [("lampFailure", "SL-2", "cleared")]


def test_expected_power_follows_the_reported_dim_level(db: SqlDatabase) -> None:
    fleet = Fleet(db, start=local(16, 1))
    fleet.until(local(16, 1, 30))  # the schedule dims to 50% until 05:00
    # An LED light at dim 50 draws 0.05 + 0.95 * 0.5 of its 100 W: 52.5 W.
    fleet.nodes["N1"].dim, fleet.nodes["N1"].power = 50.0, 52.0
    fleet.nodes["N3"].dim, fleet.nodes["N3"].power = 50.0, 20.0
    fleet.step()
    assert fleet.summary() == []
    fleet.step()
    alarm = fleet.only(LAMP, "SL-3")
    assert alarm.raised_at == local(16, 1, 40)
    assert alarm.detail["expected"] == 52.5
    assert alarm.detail["dim"] == 50.0
    assert fleet.alarms(code="SL-1") == []


# HPS warm-up


@pytest.mark.parametrize(
    ("uid", "shares", "raised_at"),
    [
        # Warming up for ten minutes: 30% then 45% of the 165 W expected (both low for a
        # warm lamp, neither dead), then full.
        ("H1", (0.3, 0.45, 0.98, 0.98), None),
        # Still at 30% once warm: low from the third report, raised on the fourth.
        ("H1", (0.3, 0.3, 0.3, 0.3), local(15, 19, 40)),
        # Next to nothing is a dead lamp, warm-up or not.
        ("H1", (0.02, 0.02, 0.02, 0.02), local(15, 19, 25)),
        # An LED lamp has no warm-up: 30% is low from its first report.
        ("N21", (0.3, 0.3, 0.3, 0.3), local(15, 19, 30)),
    ],
    ids=["hps-warming", "hps-weak", "hps-dead", "led-weak"],
)
def test_an_hps_lamp_may_draw_less_while_it_warms_up(
    db: SqlDatabase, uid: str, shares: tuple[float, ...], raised_at: float | None
) -> None:
    fleet = Fleet(db, start=local(15, 19))
    fleet.until(local(15, 19, 20))  # off by day; sunset is at 19:22:51
    node = fleet.nodes[uid]
    assert node.rated is not None
    assert node.curve is not None
    expected = node.rated * node.curve.share(100.0)
    for share in shares:
        node.power = share * expected
        fleet.step()  # 19:25 (switched on at dusk), 19:30, 19:35, 19:40
    found = [(a.asset_code, a.raised_at) for a in fleet.alarms(LAMP)]
    code = "SL-H" if uid == "H1" else "SL-21"
    assert found == ([] if raised_at is None else [(code, raised_at)])


# lampUnexpectedOn


def test_a_lamp_burning_at_midday_is_raised_on_one_report(db: SqlDatabase) -> None:
    fleet = Fleet(db, start=local(16, 11))
    fleet.until(local(16, 11, 55))
    fleet.nodes["N1"].on = True
    fleet.step()
    alarm = fleet.only(DAY_ON, "SL-1")
    assert (alarm.raised_at, alarm.severity, alarm.message) == (
        local(16, 12),
        "warning",
        "burning while the sun is up",
    )
    fleet.nodes["N1"].on = None
    fleet.step(2)
    assert fleet.only(DAY_ON, "SL-1").cleared_at == local(16, 12, 10)


def test_a_lamp_burning_on_past_sunrise_is_raised_when_the_margin_ends(db: SqlDatabase) -> None:
    """Lit at 07:45 (after sunrise, inside the margin) and still at 07:50: one report will do."""
    fleet = Fleet(db, start=local(16, 6))
    fleet.nodes["N1"].on = True  # its photocell never switches it off
    rise = daylight(16).sunrise  # 07:32:50; twilight until 07:47:50, 2 x margin until 08:02:50
    fleet.until(local(16, 7, 45))
    assert fleet.summary() == []  # by night and in twilight burning is right
    fleet.until(local(16, 7, 50))
    assert local(16, 7, 50) - rise < 2 * DetectionSettings().sun_margin_s
    assert [a.raised_at for a in fleet.alarms(DAY_ON, "SL-1")] == [local(16, 7, 50)]


def test_a_lamp_switched_on_just_after_the_margin_needs_two_reports(db: SqlDatabase) -> None:
    """Off at sunrise as it should be, then on at 07:50: a first report alone proves nothing."""
    fleet = Fleet(db, start=local(16, 6))
    fleet.until(local(16, 7, 45))  # it switched off with the sun
    fleet.nodes["N1"].on = True
    fleet.until(local(16, 7, 50))
    assert fleet.summary() == []
    fleet.step()
    assert [a.raised_at for a in fleet.alarms(DAY_ON, "SL-1")] == [local(16, 7, 55)]
    assert fleet.summary() == [("lampUnexpectedOn", "SL-1", "raised")]


def test_the_sunrise_check_waits_for_the_next_report_of_a_slow_node(db: SqlDatabase) -> None:
    """A node that reports every two hours said "on" at 06:00, before sunrise.

    At sunrise + margin it is not yet due: the check waits for its 08:00
    report, which says off, and nothing is raised.
    """
    fleet = Fleet(db, start=local(16, 0))
    for node in fleet.nodes.values():
        node.silent = True  # only N21 speaks, by hand
    for hour in (0, 2, 4, 6):
        fleet.report("N21", local(16, hour))
    fleet.idle(daylight(16).sunrise + 901)
    fleet.report("N21", local(16, 8))  # off: the photocell did its job
    fleet.idle(local(16, 8) + 60)
    assert fleet.summary() == []


def test_the_sunrise_check_raises_a_slow_node_that_said_nothing_when_due(
    db: SqlDatabase,
) -> None:
    """The same node says nothing at 08:00 (not overdue yet): it last said it burns, by day."""
    fleet = Fleet(db, start=local(16, 0))
    for node in fleet.nodes.values():
        node.silent = True
    for hour in (0, 2, 4, 6):
        fleet.report("N21", local(16, hour))
    fleet.idle(daylight(16).sunrise + 901)
    assert fleet.summary() == []
    fleet.idle(local(16, 8) + 2)
    alarm = fleet.only(DAY_ON, "SL-21")
    assert alarm.raised_at == pytest.approx(local(16, 8) + 1, abs=1.0)
    assert alarm.message == "it said it was on before sunrise and has not said otherwise since"
    fleet.report("N21", local(16, 10))  # off at last
    fleet.report("N21", local(16, 12))
    assert fleet.only(DAY_ON, "SL-21").state is not RAISED


def test_a_light_last_seen_on_in_twilight_that_reports_off_next_raises_nothing(
    db: SqlDatabase,
) -> None:
    fleet = Fleet(db, start=local(16, 6))
    fleet.nodes["N1"].on = True
    fleet.until(local(16, 7, 45))  # twilight: on/off is not judged
    fleet.idle(daylight(16).sunrise + 901)  # the detector ticks between two reports
    fleet.nodes["N1"].on = None  # off at its next report, 07:50
    fleet.step(2)
    assert fleet.alarms(DAY_ON) == []


def test_burning_by_night_is_not_day_burning(db: SqlDatabase) -> None:
    fleet = Fleet(db, start=local(15, 23))
    fleet.nodes["N1"].on = True
    fleet.until(local(16, 3))
    assert fleet.alarms(DAY_ON) == []


# cyclingFailure


def test_a_lamp_going_out_and_back_by_night_is_cycling(db: SqlDatabase) -> None:
    fleet = evening(db)
    node = fleet.nodes["N1"]
    for on in (False, True, False):  # three lit/dark changes: 22:05, 22:10, 22:15
        node.on = on
        fleet.step()
    assert fleet.summary() == []  # the third change is the first bad report
    node.on = True
    fleet.step()
    alarm = fleet.only(CYCLING, "SL-1")
    assert (alarm.raised_at, alarm.severity) == (local(15, 22, 20), "minor")
    assert fleet.summary() == [("cyclingFailure", "SL-1", "raised")]


def test_a_lamp_that_goes_out_once_is_a_lamp_failure_not_cycling(db: SqlDatabase) -> None:
    fleet = Fleet(db, start=local(15, 19))
    fleet.until(local(15, 20))
    fleet.nodes["N2"].on = False  # out at 20:05 for the rest of the night
    fleet.until(local(16, 7))
    assert fleet.alarms(CYCLING) == []
    alarm = fleet.only(LAMP, "SL-2")
    assert alarm.message == "says it is off all night, when it should burn"
    assert fleet.summary() == [("lampFailure", "SL-2", "raised")]


def test_a_lamp_out_since_22_05_is_a_lamp_failure_after_scheduled_off_s(db: SqlDatabase) -> None:
    fleet = evening(db)
    fleet.nodes["N2"].on = False  # 22:05
    fleet.until(local(16, 2, 30))
    # Off for scheduled_off_s (four hours) at 02:05, confirmed by the 02:10 report.
    assert [a.raised_at for a in fleet.alarms(LAMP, "SL-2")] == [local(16, 2, 10)]


# dimmingFailure


def test_a_light_not_dimmed_by_the_schedule_is_raised_after_two_reports(
    db: SqlDatabase,
) -> None:
    fleet = Fleet(db, start=local(16, 0, 30))
    fleet.until(local(16, 1))
    fleet.nodes["N1"].dim = 100.0  # the schedule says 50% until 05:00
    fleet.step()
    assert fleet.summary() == []
    fleet.step()
    alarm = fleet.only(DIMMING, "SL-1")
    assert (alarm.raised_at, alarm.severity) == (local(16, 1, 10), "warning")
    assert alarm.message == "dimmed to 100% where the schedule says 50%"
    assert fleet.summary() == [("dimmingFailure", "SL-1", "raised")]


def test_a_light_dimmed_outside_the_schedule_is_raised(db: SqlDatabase) -> None:
    fleet = evening(db)
    fleet.nodes["N2"].dim = 30.0  # and draws what a lamp dimmed to 30% draws
    fleet.step(2)
    alarm = fleet.only(DIMMING, "SL-2")
    assert (alarm.raised_at, alarm.detail["expected"]) == (local(15, 22, 10), 100.0)
    fleet.nodes["N2"].dim = None
    fleet.step(2)
    assert fleet.only(DIMMING, "SL-2").state is CLEARED
    assert fleet.summary() == [("dimmingFailure", "SL-2", "cleared")]


def test_dim_levels_are_not_judged_within_ten_minutes_of_a_dimming_step(
    db: SqlDatabase,
) -> None:
    fleet = Fleet(db, start=local(15, 23))
    fleet.until(local(15, 23, 50))
    fleet.nodes["N3"].dim = 100.0  # late: dims at 00:10
    fleet.nodes["N4"].dim = 50.0  # early: dims at 23:55
    fleet.nodes["N5"].dim = 100.0  # never dims
    fleet.until(local(16, 0, 5))  # 23:55, 00:00, 00:05
    fleet.nodes["N3"].dim = None
    fleet.nodes["N4"].dim = None
    fleet.step()  # 00:10: ten minutes after the step, judged again
    assert fleet.summary() == []
    fleet.step()
    assert [a.raised_at for a in fleet.alarms(DIMMING, "SL-5")] == [local(16, 0, 15)]
    assert fleet.summary() == [("dimmingFailure", "SL-5", "raised")]


def test_a_light_dimming_eight_minutes_before_midnight_is_not_judged(db: SqlDatabase) -> None:
    fleet = Fleet(db, start=local(15, 23, 2))  # reports at :02, :07, ...
    fleet.until(local(15, 23, 47))
    fleet.nodes["N1"].dim = 50.0  # from 23:52, eight minutes before the 00:00 step
    fleet.until(local(16, 0, 12))
    assert fleet.alarms(DIMMING) == []


def test_a_light_dimming_late_after_a_step_just_before_midnight_is_not_judged(
    db: SqlDatabase,
) -> None:
    fleet = Fleet(db, start=local(15, 23, 1))  # reports at :01, :06, ...
    db.alarms.set_detection_overrides(fleet.city.pk, {"dim_from": "23:59"}, local(15, 20))
    fleet.restart()
    fleet.until(local(15, 23, 51))
    fleet.nodes["N1"].dim = 100.0  # dims at 00:08, nine minutes after the 23:59 step
    fleet.until(local(16, 0, 6))
    fleet.nodes["N1"].dim = 50.0
    fleet.until(local(16, 0, 21))
    assert fleet.alarms(DIMMING) == []


# Electrical rules


def test_high_voltage_is_raised_after_two_reports_and_clears_below_250_v(
    db: SqlDatabase,
) -> None:
    fleet = evening(db)
    node = fleet.nodes["N1"]
    node.voltage = 260.0
    fleet.step()
    assert fleet.summary() == []
    fleet.step()
    alarm = fleet.only(AlarmType.HIGH_VOLTAGE, "SL-1")
    assert (alarm.raised_at, alarm.severity) == (local(15, 22, 10), "major")
    assert alarm.detail["voltage"] == 260.0
    node.voltage = 251.0  # under the 253 V limit but above the 250 V to clear
    fleet.step(3)
    assert fleet.only(AlarmType.HIGH_VOLTAGE, "SL-1").state is RAISED
    node.voltage = 240.0
    fleet.step(2)
    alarm = fleet.only(AlarmType.HIGH_VOLTAGE, "SL-1")
    assert (alarm.state, alarm.cleared_at) == (CLEARED, local(15, 22, 35))


def test_a_leaning_pole_and_the_node_s_own_fault_are_raised(db: SqlDatabase) -> None:
    fleet = evening(db)
    fleet.nodes["N1"].tilt = 40.0
    fleet.nodes["N2"].fault = "driver"
    fleet.nodes["N3"].fault = "ok"
    fleet.step()
    assert fleet.summary() == []
    fleet.step()
    leaning = fleet.only(AlarmType.ORIENTATION_CHANGED, "SL-1")
    assert (leaning.raised_at, leaning.severity) == (local(15, 22, 10), "major")
    assert leaning.message == "the pole leans 40.0 degrees"
    fault = fleet.only(AlarmType.NODE_FAULT, "SL-2")
    assert (fault.raised_at, fault.message) == (local(15, 22, 10), "the node reports 'driver'")
    assert sorted(fleet.summary()) == [
        ("nodeFault", "SL-2", "raised"),
        ("orientationChanged", "SL-1", "raised"),
    ]


# communicationFailure


def test_a_silent_light_is_raised_after_three_intervals_and_cleared_when_it_speaks(
    db: SqlDatabase,
) -> None:
    fleet = evening(db)
    last = fleet.t
    fleet.nodes["N21"].silent = True
    fleet.step(2)  # the others report at 22:05 and 22:10
    fleet.idle(last + 899)  # then nothing arrives at all
    assert fleet.summary() == []
    fleet.idle(last + 900)
    alarm = fleet.only(COMM, "SL-21")
    assert (alarm.raised_at, alarm.held, alarm.severity) == (last + 900, False, "minor")
    assert alarm.detail["last_seen"] == last
    assert alarm.message == "no uplink for 15 min (it reports every 5 min)"
    assert fleet.summary() == [("communicationFailure", "SL-21", "raised")]
    fleet.nodes["N21"].silent = False
    fleet.step()
    alarm = fleet.only(COMM, "SL-21")
    assert (alarm.state, alarm.cleared_at) == (CLEARED, local(15, 22, 15))
    assert fleet.events(alarm) == [EventKind.RAISED, EventKind.CLEARED]


def test_a_light_reporting_every_15_s_is_raised_within_three_learnt_intervals(
    db: SqlDatabase,
) -> None:
    # The first silence check is set from the 300 s default; once the 15 s
    # interval is learnt, it is brought forward (it was not: 900 s late).
    fleet = Fleet(db, start=local(15, 22))
    start = fleet.t + STEP
    fleet.wall.now = start
    reports = [start + 15 * n for n in range(12)]
    for t in reports:
        fleet.report("H1", t)
    last = reports[-1]
    fleet.idle(last + 45 - 1, every=1)
    assert fleet.summary() == []
    fleet.idle(last + 45 + 1, every=1)
    alarm = fleet.only(COMM, "SL-H")
    assert last + 45 <= alarm.raised_at <= last + 46
    assert alarm.message == "no uplink for 45 s (it reports every 15 s)"


def test_a_backlog_ingest_works_through_is_judged_on_its_own_clock_not_the_wall(
    db: SqlDatabase,
) -> None:
    # Lights reporting every 15 s, and ingest behind: it stores them at half their
    # pace, so the wall runs ahead of the reports it judges. Silence is judged on
    # the stream's clock, or every light would go silent, clear and reopen with
    # each batch (seen with one worker falling behind a burst). A light that
    # really stopped is still raised.
    fleet = Fleet(db, start=local(15, 22))
    lights = [uid for uid, node in fleet.nodes.items() if node.rated is not None]
    start = fleet.t + STEP
    fleet.wall.now = start
    for n in range(8):  # in step: each interval learnt as 15 s
        fleet.detector.observe([fleet.message(uid, start + 15 * n) for uid in lights])
        fleet.detector.tick()
        fleet.wall.now += 15
    fleet.detector.flush()
    behind = start + 15 * 8
    for n in range(40):  # ten minutes of reports, stored at half speed
        t = behind + 15 * n
        said = [fleet.message(uid, t) for uid in lights if uid != "N21" or t < behind + 60]
        fleet.wall.now += 30
        fleet.detector.observe(said)
        fleet.detector.tick()
        fleet.detector.flush()
    assert fleet.summary() == [("communicationFailure", "SL-21", "raised")]


def test_a_last_will_is_raised_after_the_hold_when_the_meter_sees_mains(
    db: SqlDatabase,
) -> None:
    fleet = evening(db)
    fleet.nodes["N3"].silent = True
    fleet.send(fleet.status("N3", t=local(15, 22, 4)))  # N3's will says offline at 22:04
    fleet.step()  # 22:05: after the will, the meter says mains
    fleet.idle(local(15, 22, 4) + 119, every=1)
    assert fleet.summary() == []
    fleet.idle(local(15, 22, 4) + 120, every=1)
    alarm = fleet.only(COMM, "SL-3")
    assert (alarm.raised_at, alarm.held) == (local(15, 22, 6), False)
    assert alarm.message == "its last will said offline"
    assert fleet.summary() == [("communicationFailure", "SL-3", "raised")]
    fleet.nodes["N3"].silent = False
    fleet.step()
    assert fleet.only(COMM, "SL-3").state is CLEARED


def test_a_last_will_waits_for_the_cabinet_meter_to_speak(db: SqlDatabase) -> None:
    fleet = evening(db)
    fleet.nodes["N3"].silent = True
    fleet.send(fleet.status("N3", t=local(15, 22, 0, 30)))
    # The hold ends at 22:02:30, but the meter last spoke before the will: it waits.
    fleet.idle(local(15, 22, 4, 59))
    assert fleet.summary() == []
    fleet.step()  # 22:05: the meter sees mains
    fleet.idle(local(15, 22, 5, 59), every=1)
    assert fleet.summary() == []
    # It looks again 1.2 meter intervals after the meter's report before the will.
    fleet.idle(local(15, 22, 6), every=1)
    alarm = fleet.only(COMM, "SL-3")
    assert (alarm.raised_at, alarm.held, alarm.parent_id) == (local(15, 22, 6), False, None)
    assert fleet.alarms(OUTAGE) == []


def test_a_meter_report_that_arrived_before_the_wills_does_not_clear_the_cabinet(
    db: SqlDatabase,
) -> None:
    # A will has no device time: it is placed on the city's clock, which follows
    # the middle of each batch. In a replay run faster than real time the wall
    # clock hardly moves, and here the lights' reports pull the city's clock to
    # 22:03, before the meter's 22:04 report that came ahead of the wills in the
    # same batch: that "mains" said nothing of what the wills say.
    fleet = evening(db)
    for uid in CABINET_LIGHTS:
        fleet.nodes[uid].silent = True
    early = [fleet.message(uid, local(15, 22, 3)) for uid in ("N21", "H1") * 3]
    meter = fleet.message("CM-1", local(15, 22, 4))
    fleet.detector.observe([*early, meter, *(fleet.status(uid) for uid in CABINET_LIGHTS)])
    watches = fleet.detector._watches  # where the will was placed
    placed = {watches[fleet.nodes[uid].ref.id].offline_at for uid in CABINET_LIGHTS}
    assert placed == {local(15, 22, 3)}
    fleet.idle(local(15, 22, 2), every=10)  # the wall runs on two minutes: the hold ends
    incident = fleet.only(OUTAGE, "CAB-1")
    assert (incident.raised_at, incident.detail["source"]) == (local(15, 22, 5), "lights")
    held = fleet.alarms(COMM)
    assert [a.asset_code for a in held] == CABINET_CODES
    assert all(a.held and a.parent_id == incident.id for a in held)
    fleet.nodes["CM-1"].mains = False
    fleet.step()  # 22:05: the meter says mains lost: the same incident goes on
    assert fleet.only(OUTAGE, "CAB-1").state is RAISED
    assert all(a.held for a in fleet.alarms(COMM))


# Cabinet outages


def cut_mains(fleet: Fleet) -> None:
    """The cabinet's meter says mains lost and its five lights' wills say offline."""
    fleet.nodes["CM-1"].mains = False
    for uid in CABINET_LIGHTS:
        fleet.nodes[uid].silent = True
    fleet.step(extra=[fleet.status(uid) for uid in CABINET_LIGHTS])


def test_a_cabinet_outage_holds_its_lights_alarms_under_one_incident(db: SqlDatabase) -> None:
    fleet = evening(db)
    cut_mains(fleet)  # 22:05
    fleet.idle(local(15, 22, 7), every=10)
    fleet.step(6)  # to 22:35, the meter still without mains
    incident = fleet.only(OUTAGE, "CAB-1")
    assert (incident.state, incident.severity, incident.raised_at) == (
        RAISED,
        Severity.CRITICAL,
        local(15, 22, 5),
    )
    assert incident.detail["source"] == "meter"
    assert incident.detail["lights"] == 5
    held = fleet.alarms(COMM)
    assert [a.asset_code for a in held] == CABINET_CODES
    for alarm in held:
        assert (alarm.state, alarm.held, alarm.parent_id) == (RAISED, True, incident.id)
        assert alarm.raised_at == local(15, 22, 7)  # offline_hold_s after the wills
        assert fleet.events(alarm) == [EventKind.HELD]
    assert fleet.summary() == [("supplyLoss", "CAB-1", "raised")] + [
        ("communicationFailure", code, "raised") for code in CABINET_CODES
    ]
    # The operators' default view and counts show the incident alone.
    shown = db.alarms.query_alarms(fleet.city.pk, AlarmQuery()).items
    assert [a.id for a in shown] == [incident.id]
    assert db.alarms.alarm_counts(fleet.city.pk, [RAISED]) == [(OUTAGE, "critical", 1)]

    # Mains back at 22:40: four lights report at once, SL-5 stays silent.
    fleet.nodes["CM-1"].mains = True
    for uid in CABINET_LIGHTS[:4]:
        fleet.nodes[uid].silent = False
    fleet.step()
    incident = fleet.only(OUTAGE, "CAB-1")
    assert (incident.state, incident.cleared_at) == (CLEARED, local(15, 22, 40))
    for code in CABINET_CODES[:4]:
        alarm = fleet.only(COMM, code)
        assert (alarm.state, alarm.held) == (CLOSED, True)
        assert fleet.events(alarm) == [EventKind.HELD, EventKind.CLEARED, EventKind.CLOSED]
    assert fleet.only(COMM, "SL-5").held
    # The release waits offline_hold_s and 1.5 intervals (to 22:49:30) for SL-5.
    fleet.step(2)
    released = fleet.only(COMM, "SL-5")
    assert (released.state, released.held, released.raised_at) == (
        RAISED,
        False,
        local(15, 22, 50),
    )
    assert released.parent_id == incident.id
    assert fleet.events(released) == [EventKind.HELD, EventKind.RELEASED]
    for code in CABINET_CODES[:4]:
        assert EventKind.RELEASED not in fleet.events(fleet.only(COMM, code))
    assert fleet.alarms(code="SL-H") == fleet.alarms(code="SL-21") == []


def test_lights_that_go_dark_together_show_an_outage_without_the_meter(db: SqlDatabase) -> None:
    fleet = evening(db)
    for uid in ("CM-1", *CABINET_LIGHTS):
        fleet.nodes[uid].silent = True  # no will, no meter reading: just silence
    fleet.step(3)
    incident = fleet.only(OUTAGE, "CAB-1")
    assert (incident.raised_at, incident.detail["source"]) == (local(15, 22, 15), "lights")
    assert incident.message == "most lights of the cabinet went dark together"
    for code in CABINET_CODES:
        alarm = fleet.only(COMM, code)
        assert (alarm.state, alarm.held, alarm.parent_id) == (RAISED, True, incident.id)
    for uid in ("CM-1", *CABINET_LIGHTS):
        fleet.nodes[uid].silent = False
    fleet.step()
    assert fleet.only(OUTAGE, "CAB-1").state is CLEARED
    for code in CABINET_CODES:
        assert fleet.only(COMM, code).state is CLOSED
    assert fleet.alarms(code="SL-21") == []


def test_the_outage_of_a_cabinet_without_a_meter_names_the_cabinet(db: SqlDatabase) -> None:
    fleet = evening(db)
    with db.engine.begin() as conn:  # the cabinet loses its meter
        conn.execute(update(devices).where(devices.c.uid == "CM-1").values(asset_id=None))
    fleet.restart()
    del fleet.nodes["CM-1"]
    fleet.step()
    for uid in CABINET_LIGHTS:
        fleet.nodes[uid].silent = True
    fleet.step(3)
    incident = fleet.only(OUTAGE, "CAB-1")
    assert incident.asset_id is not None
    assert incident.detail["source"] == "lights"


def test_a_meter_silent_with_its_lights_is_held_under_its_cabinet_s_incident(
    db: SqlDatabase,
) -> None:
    fleet = evening(db)
    for uid in ("CM-1", *CABINET_LIGHTS):
        fleet.nodes[uid].silent = True
    fleet.step(3)
    incident = fleet.only(OUTAGE, "CAB-1")
    meter = fleet.only(COMM, "CAB-1")
    assert (meter.held, meter.parent_id) == (True, incident.id)


def test_after_a_restart_in_an_outage_a_light_still_silent_is_released(db: SqlDatabase) -> None:
    fleet = evening(db)
    cut_mains(fleet)
    fleet.step(2)
    fleet.restart()
    fleet.step(2)
    fleet.nodes["CM-1"].mains = True
    for uid in CABINET_LIGHTS[:4]:
        fleet.nodes[uid].silent = False
    fleet.step(4)  # 20 minutes after the mains came back
    assert fleet.only(OUTAGE, "CAB-1").state is CLEARED
    released = fleet.only(COMM, "SL-5")
    assert (released.state, released.held) == (RAISED, False)


def test_a_detector_seeded_from_the_store_still_judges_the_backlog_it_reads(
    db: SqlDatabase,
) -> None:
    # `signalight detect` beside shared workers: they stored the street's reports
    # before it started, so its seed says each device was heard at 22:20; its own
    # session then delivers those same reports, which it has not judged yet.
    fleet = evening(db)
    fleet.nodes["N1"].power = 5.0  # its lamp is out
    backlog = [fleet.batch() for _ in range(4)]  # 22:05 to 22:20
    fleet.restart()
    heard = [(node.ref.id, local(15, 22, 20)) for node in fleet.nodes.values()]
    assert fleet.detector.seed(heard) == len(heard)
    for batch in backlog:
        fleet.detector.observe(batch)
    fleet.detector.flush()
    assert fleet.only(LAMP, "SL-1").state is RAISED
    # Judged once: a redelivery of what it has judged changes nothing.
    fleet.detector.observe(backlog[-1])
    fleet.detector.flush()
    assert fleet.summary() == [("lampFailure", "SL-1", "raised")]


# The life of an alarm


def test_a_flapping_fault_reopens_its_alarm_and_closes_once_settled(db: SqlDatabase) -> None:
    fleet = evening(db)
    node = fleet.nodes["N1"]
    for fault in ("driver", "driver", "ok", "ok", "driver", "driver"):
        node.fault = fault
        fleet.step()
    (alarm,) = fleet.alarms()
    assert (alarm.type, alarm.state, alarm.occurrences) == (AlarmType.NODE_FAULT, RAISED, 2)
    assert alarm.raised_at == local(15, 22, 10)  # the first occurrence's
    assert fleet.events(alarm) == [EventKind.RAISED, EventKind.CLEARED, EventKind.REOPENED]
    node.fault = "ok"
    fleet.step(2)
    cleared_at = local(15, 22, 40)
    assert fleet.only(AlarmType.NODE_FAULT, "SL-1").cleared_at == cleared_at
    fleet.until(cleared_at + 3600)  # the reopen window: still cleared
    assert fleet.only(AlarmType.NODE_FAULT, "SL-1").state is CLEARED
    fleet.step()
    (alarm,) = fleet.alarms()
    assert (alarm.state, alarm.closed_at, alarm.closed_by) == (CLOSED, cleared_at + 3900, None)
    assert fleet.events(alarm)[-2:] == [EventKind.CLEARED, EventKind.CLOSED]
    node.fault = "driver"  # back after the window: a new alarm
    fleet.step(2)
    assert [(a.id == alarm.id, a.state) for a in fleet.alarms()] == [
        (True, CLOSED),
        (False, RAISED),
    ]


def test_a_fault_returning_after_an_operator_closed_its_alarm_is_a_new_alarm(
    db: SqlDatabase,
) -> None:
    fleet = evening(db)
    node = fleet.nodes["N1"]
    for fault in ("driver", "driver", "ok", "ok"):
        node.fault = fault
        fleet.step()
    first = fleet.only(AlarmType.NODE_FAULT, "SL-1")
    assert first.state is CLEARED
    db.alarms.act(fleet.city.pk, first.pk, EventKind.CLOSED, "ops", fleet.t + 10, "new driver")
    node.fault = "driver"  # within the reopen window
    fleet.step(2)
    old, new = fleet.alarms()
    assert (old.id, old.state, old.closed_by) == (first.id, CLOSED, "ops")
    assert new.id != first.id
    assert (new.state, new.occurrences, new.raised_at) == (RAISED, 1, local(15, 22, 30))
    assert fleet.events(new) == [EventKind.RAISED]
    assert fleet.events(old) == [EventKind.RAISED, EventKind.CLEARED, EventKind.CLOSED]


def test_a_restarted_detector_clears_the_alarms_it_found_open(db: SqlDatabase) -> None:
    fleet = evening(db)
    fleet.nodes["N1"].power = 2.0
    fleet.step()
    raised = fleet.only(LAMP, "SL-1")
    fleet.restart()
    fleet.nodes["N1"].power = None
    fleet.step()
    assert fleet.only(LAMP, "SL-1").state is RAISED
    fleet.step()
    alarm = fleet.only(LAMP, "SL-1")
    assert (alarm.id, alarm.state, alarm.cleared_at) == (raised.id, CLEARED, local(15, 22, 15))
    assert fleet.summary() == [("lampFailure", "SL-1", "cleared")]


def test_a_replayed_night_is_judged_on_its_own_clock(db: SqlDatabase) -> None:
    fleet = Fleet(db, start=local(15, 21))
    fleet.wall.now = local(20, 12)  # replayed five days later: the wall clock stands still
    fleet.nodes["N1"].power = 2.0
    for _ in range(12):
        fleet.detector.observe(fleet.batch())
        fleet.detector.tick()
        fleet.detector.flush()
    assert [a.raised_at for a in fleet.alarms()] == [local(15, 21)]
    clock = fleet.detector.clock(fleet.city.pk)
    assert clock is not None
    assert clock.timestamp() == local(15, 21, 55)


# Inventory and settings


def test_out_of_service_lights_raise_nothing(db: SqlDatabase) -> None:
    fleet = Fleet(db, start=local(15, 21))
    fleet.set_status("SL-4", AssetStatus.OUT_OF_SERVICE)
    fleet.restart()
    fleet.until(local(15, 22))
    for uid in ("N3", "N4"):  # the same faults on an in-service light
        node = fleet.nodes[uid]
        node.power, node.tilt, node.fault = 2.0, 40.0, "driver"
    fleet.step(2)
    fleet.nodes["N4"].silent = True
    fleet.step(4)
    assert fleet.alarms(code="SL-4") == []
    assert {str(a.type) for a in fleet.alarms(code="SL-3")} == {
        "lampFailure",
        "orientationChanged",
        "nodeFault",
    }


def test_a_city_s_detection_settings_are_honoured_by_a_new_detector(db: SqlDatabase) -> None:
    fleet = Fleet(db, start=local(15, 21))
    db.alarms.set_detection_overrides(
        fleet.city.pk, {"tilt_max_deg": 50, "tilt_ok_deg": 40}, local(15, 20)
    )
    fleet.restart()
    fleet.until(local(15, 22))
    fleet.nodes["N1"].tilt = 45.0  # over the default 15 degrees, under the city's 50
    fleet.nodes["N2"].tilt = 55.0
    fleet.step(2)
    assert fleet.summary() == [("orientationChanged", "SL-2", "raised")]
    fleet.nodes["N2"].tilt = 45.0  # inside the city's band: neither bad nor good
    fleet.step(2)
    assert fleet.only(AlarmType.ORIENTATION_CHANGED, "SL-2").state is RAISED
    fleet.nodes["N2"].tilt = 30.0
    fleet.step(2)
    assert fleet.only(AlarmType.ORIENTATION_CHANGED, "SL-2").state is CLEARED


def faulty_street(fleet: Fleet) -> None:
    """A dead lamp, a leaning pole, an undimmed lamp and a cabinet outage at 01:00."""
    fleet.until(local(16, 1))
    fleet.nodes["N21"].power = 2.0
    fleet.nodes["H1"].tilt = 40.0
    fleet.nodes["H1"].dim = 100.0
    cut_mains(fleet)
    fleet.step(2)


def test_severities_follow_the_defaults(db: SqlDatabase) -> None:
    fleet = Fleet(db, start=local(16, 0, 30))
    faulty_street(fleet)
    found = {(a.type, a.severity) for a in fleet.alarms()}
    assert found == {
        (LAMP, Severity.MINOR),
        (AlarmType.ORIENTATION_CHANGED, Severity.MAJOR),
        (DIMMING, Severity.WARNING),
        (OUTAGE, Severity.CRITICAL),
        (COMM, Severity.MINOR),
    }
    assert all(a.severity is DEFAULT_SEVERITIES[a.type] for a in fleet.alarms())


def test_a_city_s_severities_override_the_ones_it_names(db: SqlDatabase) -> None:
    fleet = Fleet(db, start=local(16, 0, 30))
    db.alarms.set_detection_overrides(
        fleet.city.pk, {"severities": {"lampFailure": "major"}}, local(16, 0)
    )
    fleet.restart()
    faulty_street(fleet)
    found = {(a.type, a.severity) for a in fleet.alarms()}
    assert found == {
        (LAMP, Severity.MAJOR),
        (AlarmType.ORIENTATION_CHANGED, Severity.MAJOR),
        (DIMMING, Severity.WARNING),
        (OUTAGE, Severity.CRITICAL),
        (COMM, Severity.MINOR),
    }


# DetectionLoop


def test_the_loop_judges_submitted_batches_and_stores_them_when_stopped(
    db: SqlDatabase,
) -> None:
    fleet = evening(db)
    fleet.nodes["N1"].power = 2.0
    fleet.nodes["N2"].tilt = 40.0
    loop = DetectionLoop(fleet.detector, tick_s=0.05)
    loop.start()
    for _ in range(6):
        loop.submit(fleet.batch())
    loop.submit([])  # nothing to judge
    loop.stop(timeout=10)
    assert loop.failures == 0
    assert fleet.summary() == [
        ("lampFailure", "SL-1", "raised"),
        ("orientationChanged", "SL-2", "raised"),
    ]
    assert fleet.only(LAMP, "SL-1").observed_at == local(15, 22, 5)
    assert fleet.detector.stats().messages == 13 * 8 + 6 * 8  # evening() ran 13 steps


def test_the_loop_judges_silence_on_its_own_clock_while_nothing_comes(
    db: SqlDatabase,
) -> None:
    fleet = evening(db)
    loop = DetectionLoop(fleet.detector, tick_s=0.02)
    loop.start()
    try:
        fleet.wall.now += 4 * STEP  # twenty minutes, and not a word from anyone
        deadline = monotonic() + 5.0
        while not fleet.alarms(COMM) and monotonic() < deadline:
            sleep(0.02)
        assert {a.asset_code for a in fleet.alarms(COMM)} >= {"SL-1", "SL-2"}
    finally:
        loop.stop(timeout=10)


def test_while_ingest_cannot_store_no_news_is_not_silence(db: SqlDatabase) -> None:
    # The database is away for twenty minutes: the devices go on speaking into
    # the broker's queue. The clocks stop, nothing is raised, and the backlog
    # that comes after is judged on its own clock.
    fleet = evening(db)
    loop = DetectionLoop(fleet.detector, tick_s=0.02)
    loop.stalled(True)  # noqa: FBT003 - the listener's argument
    backlog = [fleet.batch() for _ in range(4)]  # 22:05 to 22:20, queued at the broker
    fleet.wall.now += 4 * STEP
    fleet.detector.tick()
    fleet.detector.flush()
    assert fleet.summary() == []
    loop.stalled(False)  # noqa: FBT003
    for batch in backlog:
        loop.submit(batch)
    fleet.detector.tick()
    fleet.detector.flush()
    assert fleet.summary() == []
    # The clocks go on: a device that then falls silent is raised on time.
    fleet.nodes["N21"].silent = True
    fleet.step(3)
    fleet.idle(fleet.wall.now + STEP)
    assert [a.asset_code for a in fleet.alarms(COMM)] == ["SL-21"]


# The settings and the power curves (domain/faults.py)


def test_a_power_curve_interpolates_between_its_points_and_holds_beyond() -> None:
    led = DEFAULT_CURVES[LuminaireType.LED]
    assert [led.share(d) for d in (-10.0, 0.0, 50.0, 100.0, 120.0)] == pytest.approx(
        [0.05, 0.05, 0.525, 1.0, 1.0]
    )
    hid = DEFAULT_CURVES[LuminaireType.HPS]
    assert [hid.share(d) for d in (0.0, 30.0, 60.0, 80.0, 100.0)] == pytest.approx(
        [0.66, 0.66, 0.66, 0.88, 1.1]
    )
    curve = PowerCurve(((0.0, 0.1), (20.0, 0.2), (70.0, 0.7), (100.0, 1.6)))
    assert [curve.share(d) for d in (10.0, 20.0, 45.0, 90.0)] == pytest.approx(
        [0.15, 0.2, 0.45, 1.3]
    )


@pytest.mark.parametrize(
    "points",
    [
        ((0.0, 0.1),),
        ((10.0, 0.1), (100.0, 1.0)),
        ((0.0, 0.1), (90.0, 1.0)),
        ((0.0, 0.1), (50.0, 0.5), (50.0, 0.6), (100.0, 1.0)),
        ((0.0, 0.1), (60.0, 0.5), (40.0, 0.4), (100.0, 1.0)),
        ((0.0, 0.1), (100.0, 2.5)),
        ((0.0, -0.1), (100.0, 1.0)),
    ],
    ids=["one-point", "starts-above-0", "stops-below-100", "repeated", "unsorted", "over-2", "neg"],
)
def test_a_power_curve_refuses_points_that_are_not_a_curve(
    points: tuple[tuple[float, float], ...],
) -> None:
    with pytest.raises(InvalidInputError):
        PowerCurve(points)


def test_merged_settings_take_a_city_s_overrides_in_the_setting_s_type() -> None:
    base = DetectionSettings()
    merged = base.merged(
        {
            "tilt_max_deg": 50,
            "tilt_ok_deg": 40,
            "confirm_reports": 3,
            "dim_from": "23:30",
            "severities": {"lampFailure": "major"},
            "curves": {"led": [[0, 0.1], [100, 1.0]]},
            "default_interval_s": {"streetlight_node": 600},
        }
    )
    assert (merged.tilt_max_deg, merged.tilt_ok_deg, merged.confirm_reports) == (50.0, 40.0, 3)
    assert isinstance(merged.tilt_max_deg, float)
    assert merged.dim_from == time(23, 30)
    assert merged.severity(LAMP) is Severity.MAJOR
    assert merged.severity(DIMMING) is Severity.WARNING  # the entries not named stay
    assert merged.curve(LuminaireType.LED).share(50.0) == pytest.approx(0.55)
    assert merged.curve(LuminaireType.HPS) is DEFAULT_CURVES[LuminaireType.HPS]
    assert merged.default_interval_s["streetlight_node"] == 600.0
    assert merged.default_interval_s["cabinet_meter"] == 300.0
    assert base == DetectionSettings()  # the defaults are left alone
    assert merged.as_overrides()["dim_from"] == "23:30"


@pytest.mark.parametrize(
    "overrides",
    [
        {"no_such_setting": 1},
        {"tilt_max_deg": "50"},
        {"tilt_max_deg": True},
        {"confirm_reports": 2.5},
        {"dim_from": "late"},
        {"severities": {"lampFailure": "urgent"}},
        {"severities": {"lampBroken": "major"}},
        {"severities": ["lampFailure"]},
        {"curves": {"led": [[0, 0.1]]}},
        {"curves": {"led": [[0]]}},
        {"default_interval_s": {"streetlight_node": "often"}},
    ],
    ids=lambda o: next(iter(o.items())).__repr__()[:40],
)
def test_merged_settings_refuse_values_of_the_wrong_type(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        DetectionSettings().merged(overrides)


@pytest.mark.parametrize(
    "overrides",
    [
        {"tilt_ok_deg": 20},  # above the 15 degrees that raise
        {"voltage_high_clear": 255},
        {"voltage_low_clear": 205},
        {"lamp_low_ratio": 0.8},
        {"lamp_dead_ratio": 0.6},
        {"power_ok_ratio": 1.4},
        {"pf_ok": 0.6},
        {"confirm_reports": 0},
        {"clear_reports": 0},
        {"silent_intervals": 1},
        {"outage_share": 0},
        {"outage_share": 1.5},
        {"cycling_changes": 1},
        {"night_dim": 120},
    ],
    ids=lambda o: next(iter(o.items())).__repr__(),
)
def test_merged_settings_refuse_thresholds_that_contradict_each_other(
    overrides: dict[str, object],
) -> None:
    with pytest.raises(InvalidInputError, match="detection settings must keep"):
        DetectionSettings().merged(overrides)


def test_the_steps_of_the_street_are_five_minutes() -> None:
    # The scenarios count reports in 300 s steps; the detector's default interval must match.
    assert DetectionSettings().default_interval_s["streetlight_node"] == STEP


def test_a_restarted_detector_watches_devices_heard_before_it_started(db: SqlDatabase) -> None:
    """N1 falls silent, the detector restarts: seeded from the live state, it still judges N1."""
    fleet = evening(db)
    heard = fleet.t - STEP  # the last round every device reported in
    fleet.nodes["N1"].silent = True
    fleet.restart()
    ids = {node.ref.id: node.ref.uid for node in fleet.nodes.values()}
    assert fleet.detector.seed((device, heard) for device in ids) == len(ids)
    for node in fleet.nodes.values():
        node.silent = True  # nothing more from anyone: only the clock runs
    # the city's clock resumes at the last report heard and runs on with the wall
    restarted = fleet.wall.now
    fleet.idle(restarted + 3 * STEP - 60)
    assert fleet.summary() == []
    fleet.idle(restarted + 3 * STEP + 60)
    silent = {alarm.asset_code for alarm in fleet.alarms(COMM)}
    assert "SL-1" in silent


def test_statuses_stamped_on_receipt_do_not_move_a_replayed_clock(db: SqlDatabase) -> None:
    """A replay's birth statuses carry the wall's time; the city's clock follows reports only."""
    fleet = Fleet(db, start=local(15, 21))
    fleet.wall.now = local(20, 12)  # replayed five days later
    fleet.detector.observe([fleet.status(uid, "online", t=fleet.wall.now) for uid in fleet.nodes])
    for _ in range(6):
        fleet.detector.observe(fleet.batch())
        fleet.detector.tick()
        fleet.detector.flush()
    assert fleet.summary() == []
    clock = fleet.detector.clock(fleet.city.pk)
    assert clock is not None
    assert clock.timestamp() < local(15, 22)


def test_a_watch_holds_ingests_string_of_the_device_id_not_a_copy(db: SqlDatabase) -> None:
    """A million devices' ids are held once (bench/ingest.py's memory run measures the saving)."""
    fleet = Fleet(db, start=local(15, 21))
    fleet.step()
    watches = fleet.detector._watches  # what is shared is the point here
    for node in fleet.nodes.values():
        assert watches[node.ref.id].profile.uid is node.ref.uid
