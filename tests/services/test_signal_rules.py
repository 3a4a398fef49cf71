"""The traffic-signal rules on hand-built reports, judged by the real detector over SQLite.

Each report is what an outside client publishes on a ``signal_monitor``'s
topic (``docs/protocol.md``): the monitor's readings, the controller's
Indiana events, or both (``signal_rig``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.alarms import AlarmState, AlarmType, EventKind, Severity
from signalight.domain.errors import StorageUnavailableError
from signalight.domain.faults import DetectionSettings
from tests.services.signal_rig import STEP, Crossing, only_events

RAISED, CLEARED = AlarmState.RAISED, AlarmState.CLEARED
FLASH, DARK, CONFLICT = AlarmType.SIGNAL_FLASH, AlarmType.SIGNAL_DARK, AlarmType.CONFLICT_FLASH
RED, MAINS, BATTERY = AlarmType.RED_LAMP_FAILURE, AlarmType.MAINS_FAILURE, AlarmType.BATTERY_LOW
BREAK_IN, OPEN_LONG = AlarmType.DOOR_OPEN_UNAUTHORISED, AlarmType.DOOR_OPEN_TOO_LONG


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqlDatabase]:
    """A migrated SQLite database of this test's own."""
    database = SqlDatabase.connect(f"sqlite:///{tmp_path / 'signalight.db'}")
    database.migrate()
    yield database
    database.close()


@pytest.fixture
def crossing(db: SqlDatabase) -> Crossing:
    """The intersections, healthy for three reports (their interval learnt)."""
    found = Crossing(db)
    for _ in range(3):
        found.report()
    return found


def test_a_healthy_intersection_with_a_running_controller_raises_nothing(
    crossing: Crossing,
) -> None:
    t = crossing.t
    cycle = [(t + 1, 1, 2), (t + 1, 1, 6), (t + 20, 4, 2), (t + 21, 8, 2), (t + 25, 9, 2)]
    cycle += [(t + 2, 82, 4), (t + 8, 81, 4), (t + 40, 5, 4), (t + 50, 173, 2)]
    crossing.report(events=cycle)
    crossing.report(mode="preempt")  # an ambulance: the controller's programme, not a fault
    assert crossing.summary() == []


def test_an_outside_clients_senml_packs_as_the_protocol_documents_them(crossing: Crossing) -> None:
    crossing.t += STEP
    crossing.publish(
        "S1",
        [
            {"bn": "S1/", "bt": crossing.t, "n": "mode", "vs": "normal"},
            {"n": "door", "vs": "closed"},
            {"n": "lamp/2/green", "v": 360, "u": "mA"},
            {"n": "lamp/4/red", "v": 0.24},
            {"n": "event", "v": 173, "vs": "3", "t": -20},  # the controller went to flash
            {"n": "event", "v": 200, "vs": "1", "t": -15},  # the door switch, on input 1
            {"n": "event", "v": 201, "vs": "1", "t": -5},
        ],
    )
    assert crossing.only(FLASH).observed_at == crossing.t - 20
    assert crossing.only(BREAK_IN).state is CLEARED  # opened and shut between two reports
    crossing.t += STEP
    crossing.publish(
        "S1",
        [{"bn": "S1/", "bt": crossing.t, "n": "event", "v": 173, "vs": "2", "t": -30}],
    )
    assert crossing.only(FLASH).state is CLEARED


# Flash, dark, conflict: on the first report, cleared on the first normal one.


def test_flash_is_raised_on_the_first_report_and_cleared_on_the_first_normal_one(
    crossing: Crossing,
) -> None:
    at = crossing.report(mode="flash", lamps={4: {"red": 0.12}, 8: {"red": 0.12}})
    alarm = crossing.only(FLASH)
    assert (alarm.state, alarm.raised_at, alarm.severity) == (RAISED, at, Severity.MAJOR)
    assert alarm.message == "the signal is in flash (the monitor says flash)"
    assert crossing.alarms(RED) == []  # a flashing red is not judged as out
    crossing.report(mode="flash")
    later = crossing.report()
    alarm = crossing.only(FLASH)
    assert (alarm.state, alarm.cleared_at) == (CLEARED, later)


def test_a_controller_that_sends_only_its_events_raises_and_clears_flash_at_their_times(
    crossing: Crossing,
) -> None:
    t = crossing.t + STEP
    crossing.report(**only_events((t - 30, 1, 2), (t - 20, 173, 3)))
    alarm = crossing.only(FLASH)
    assert (alarm.state, alarm.observed_at) == (RAISED, t - 20)
    assert "the controller logged automatic flash" in alarm.message
    crossing.report(**only_events((t + 30, 173, 2)))
    assert crossing.only(FLASH).state is CLEARED
    # Startup flash after a power cut is the controller's programme.
    crossing.report(**only_events((t + 90, 173, 7)))
    assert len(crossing.alarms(FLASH)) == 1
    assert crossing.only(FLASH).state is CLEARED


def test_a_flash_logged_and_ended_between_two_reports_is_raised_and_cleared(
    crossing: Crossing,
) -> None:
    t = crossing.t + STEP
    crossing.report(events=[(t - 40, 173, 5), (t - 25, 173, 2)])
    alarm = crossing.only(FLASH)
    # Steps are dated by the city's clock, which the report has brought to its time.
    assert (alarm.state, alarm.observed_at, alarm.cleared_at) == (CLEARED, t - 40, t)


def test_a_monitor_that_reports_only_its_mode_raises_dark_and_clears_it(
    crossing: Crossing,
) -> None:
    fields: dict[str, Any] = dict.fromkeys(("mmu", "door", "mains", "battery", "lamps"))
    at = crossing.report(mode="dark", **fields)
    alarm = crossing.only(DARK)
    assert (alarm.state, alarm.raised_at, alarm.severity) == (RAISED, at, Severity.CRITICAL)
    assert crossing.alarms(FLASH) == []
    crossing.report(mode="normal", **fields)
    assert crossing.only(DARK).state is CLEARED


def test_a_monitor_with_lamps_and_no_mode_is_dark_when_every_lamp_draws_nothing(
    db: SqlDatabase,
) -> None:
    crossing = Crossing(db)
    crossing.report(mode=None)
    dark = {p: {"red": 0.0} for p in (2, 4, 6, 8)}
    crossing.report(mode=None, lamps=dark)
    assert crossing.only(DARK).state is RAISED
    assert crossing.alarms(RED) == []  # dark, not four reds out
    crossing.report(mode=None)
    assert crossing.only(DARK).state is CLEARED


def test_conflict_flash_from_the_mmu_reading_is_critical_and_not_a_plain_flash(
    crossing: Crossing,
) -> None:
    crossing.report(mode="flash", mmu="conflict")
    alarm = crossing.only(CONFLICT)
    assert (alarm.state, alarm.severity) == (RAISED, Severity.CRITICAL)
    assert crossing.alarms(FLASH) == []
    crossing.report()
    assert crossing.only(CONFLICT).state is CLEARED


def test_conflict_flash_from_the_controllers_alarm_status_alone(crossing: Crossing) -> None:
    t = crossing.t + STEP
    crossing.report(**only_events((t - 10, 174, 16)))
    assert crossing.only(CONFLICT).state is RAISED
    assert crossing.alarms(FLASH) == []
    crossing.report(**only_events((t + 10, 174, 0)))
    assert crossing.only(CONFLICT).state is CLEARED


def test_an_mmu_flash_for_a_red_failure_is_a_red_lamp_failure_not_a_conflict(
    crossing: Crossing,
) -> None:
    t = crossing.t + STEP
    crossing.report(mode="flash", mmu="red_fail", events=[(t - 5, 173, 6), (t - 5, 174, 16)])
    assert crossing.only(RED).message == "the MMU reports a red lamp failure"
    assert (crossing.alarms(CONFLICT), crossing.alarms(FLASH)) == ([], [])


# Red lamp failure: only a red that should be lit.


def test_a_red_out_is_raised_only_while_its_phase_should_show_red(crossing: Crossing) -> None:
    # Phase 4's red reads nothing while its green is lit: red is not expected then.
    crossing.report(lamps={2: {"red": 0.3}, 4: {"green": 0.36, "red": 0.0}})
    # The controller's events place phase 8 in green: its green lamp is what is out.
    t = crossing.t + STEP
    crossing.report(lamps={2: {"green": 0.36}, 8: {"red": 0.0}}, events=[(t - 5, 1, 8)])
    assert crossing.alarms(RED) == []
    at = crossing.report(lamps={2: {"green": 0.36}, 4: {"red": 0.0}})
    alarm = crossing.only(RED)
    assert (alarm.state, alarm.raised_at, alarm.severity) == (RAISED, at, Severity.CRITICAL)
    assert alarm.message == "the red of phase 4 draws no current while it should be lit"
    crossing.report(lamps={4: {"green": 0.36}})  # says nothing of its red
    crossing.report(lamps={4: {"red": 0.24}})
    assert crossing.only(RED).state is RAISED  # mended after two reports of it lit
    crossing.report(lamps={4: {"red": 0.24}})
    assert crossing.only(RED).state is CLEARED


def test_a_monitor_of_reds_alone_raises_a_red_out_only_where_the_events_place_its_phase_in_red(
    db: SqlDatabase,
) -> None:
    crossing = Crossing(db)
    reds = {2: {"red": 0.0}, 4: {"red": 0.24}, 6: {"red": 0.0}, 8: {"red": 0.24}}
    for _ in range(3):  # phases 2 and 6 green: their reds are off, as they should be
        crossing.report(lamps=reds)
    assert crossing.alarms(RED) == []
    t = crossing.t + STEP
    crossing.report(lamps=reds, events=[(t - 30, 1, 4), (t - 30, 10, 2), (t - 28, 11, 6)])
    assert crossing.only(RED).detail["phases"] == [2, 6]


# The cabinet door.


def test_a_door_opened_with_no_window_is_a_critical_break_in_raised_at_once(
    crossing: Crossing,
) -> None:
    at = crossing.report(door="open")
    alarm = crossing.only(BREAK_IN)
    assert (alarm.state, alarm.raised_at, alarm.severity) == (RAISED, at, Severity.CRITICAL)
    closed = crossing.report()
    assert (crossing.only(BREAK_IN).state, crossing.only(BREAK_IN).cleared_at) == (CLEARED, closed)


def test_a_door_opened_and_shut_between_two_reports_is_still_a_break_in(
    crossing: Crossing,
) -> None:
    t = crossing.t + STEP
    crossing.report(events=[(t - 50, 200, 1), (t - 20, 201, 1)])
    alarm = crossing.only(BREAK_IN)
    assert (alarm.observed_at, alarm.state, alarm.cleared_at) == (t - 50, CLEARED, t)


def test_an_authorised_opening_raises_nothing_until_it_is_open_too_long(db: SqlDatabase) -> None:
    asked: list[tuple[int, int, float]] = []

    def authority(city: int, asset: int, at: float) -> str | None:
        asked.append((city, asset, at))
        return "maintenance window 7 (crew ali: relamp)"

    crossing = Crossing(db, door_authority=authority, settings=DetectionSettings())
    opened = crossing.report(door="open")
    for _ in range(119):
        crossing.report(door="open")
    assert crossing.summary() == []
    assert len(asked) == 1
    assert asked[0][2] == opened
    at = crossing.report(door="open")  # two hours open
    alarm = crossing.only(OPEN_LONG)
    assert (alarm.raised_at, alarm.severity) == (at, Severity.MAJOR)
    assert alarm.detail["authorised_by"] == "maintenance window 7 (crew ali: relamp)"
    assert alarm.message == "the cabinet door has been open for 2.0 h"
    crossing.report()
    assert crossing.only(OPEN_LONG).state is CLEARED
    assert crossing.alarms(BREAK_IN) == []


def test_a_door_check_the_database_cannot_answer_is_asked_again_not_taken_for_a_break_in(
    db: SqlDatabase,
) -> None:
    answers: list[str | Exception | None] = [StorageUnavailableError("away"), None]

    def authority(_city: int, _asset: int, _at: float) -> str | None:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    crossing = Crossing(db, door_authority=authority)
    opened = crossing.report(door="open")
    assert crossing.summary() == []
    at = crossing.report(door="open")
    alarm = crossing.only(BREAK_IN)
    assert (alarm.raised_at, alarm.detail["opened_at"]) == (at, opened)


def test_the_door_on_an_alarm_input_and_other_inputs_named_per_city(db: SqlDatabase) -> None:
    names = {1: "fan", 3: "door"}
    crossing = Crossing(db, settings=DetectionSettings(alarm_inputs=names))
    t = crossing.t + STEP
    crossing.report(events=[(t - 10, 175, 0b101)])  # inputs 1 and 3
    assert crossing.only(BREAK_IN).state is RAISED
    alarm = crossing.only(AlarmType.CABINET_ALARM)
    assert alarm.detail["inputs"] == [[1, "fan"]]
    assert alarm.message == "cabinet alarm input on: fan (1)"
    crossing.report(events=[(t + 50, 175, 0)])
    assert crossing.only(AlarmType.CABINET_ALARM).state is CLEARED
    assert crossing.only(BREAK_IN).state is CLEARED


# Power.


def test_mains_failure_from_the_events_and_a_low_battery_confirmed_by_two_reports(
    crossing: Crossing,
) -> None:
    t = crossing.t + STEP
    crossing.report(mains=None, battery=25.6, events=[(t - 30, 182, 1)])
    alarm = crossing.only(MAINS)
    assert (alarm.observed_at, alarm.severity) == (t - 30, Severity.MAJOR)
    assert alarm.message == (
        "the cabinet lost mains (says its controller (182)); the signal runs on its battery"
    )
    crossing.report(mains=None, battery=22.9)
    assert crossing.alarms(BATTERY) == []
    at = crossing.report(mains=None, battery=22.8)
    assert crossing.only(BATTERY).raised_at == at
    crossing.report(mains=None, battery=27.0, events=[(at + 30, 184, 1)])
    assert crossing.only(MAINS).state is CLEARED
    assert crossing.only(BATTERY).state is RAISED
    crossing.report(battery=27.1)
    assert crossing.only(BATTERY).state is CLEARED


def test_a_cabinet_with_no_battery_fitted_is_not_judged_for_it(crossing: Crossing) -> None:
    crossing.report(battery=0.0)
    crossing.report(battery=0.0)
    assert crossing.summary() == []


def test_mains_failure_of_an_intersection_on_a_metered_cabinet_waits_and_is_held(
    crossing: Crossing,
) -> None:
    crossing.meter(mains=True)
    crossing.report("S2", mains=False)  # the meter reports every 300 s: the failure waits
    assert crossing.alarms(MAINS, "TS-2") == []
    crossing.t += STEP
    crossing.meter(mains=False)
    incident = crossing.only(AlarmType.SUPPLY_LOSS, "CAB-1")
    crossing.report("S2", mains=False)
    held = crossing.only(MAINS, "TS-2")
    assert (held.held, held.parent_id) == (True, incident.id)
    crossing.meter(mains=True)
    crossing.report("S2")
    assert crossing.only(MAINS, "TS-2").state is AlarmState.CLOSED


def test_mains_failure_is_raised_when_the_cabinet_meter_saw_mains(crossing: Crossing) -> None:
    crossing.meter(mains=True)
    crossing.report("S2", mains=False)
    crossing.idle(crossing.t + 400.0)  # the meter is late: the wait ends
    alarm = crossing.only(MAINS, "TS-2")
    assert (alarm.held, alarm.state) == (False, RAISED)


# Manual control, stop time, detectors.


def test_manual_control_from_the_mode_or_the_controllers_events(crossing: Crossing) -> None:
    crossing.report(mode="manual")
    assert crossing.only(AlarmType.MANUAL_CONTROL).state is RAISED
    crossing.report()
    t = crossing.t + STEP
    crossing.report(**only_events((t - 5, 178, 1)))
    alarm = crossing.only(AlarmType.MANUAL_CONTROL)
    assert (alarm.state, alarm.occurrences) == (RAISED, 2)  # reopened, not a second alarm
    crossing.report(**only_events((t + 5, 178, 0)))
    assert crossing.only(AlarmType.MANUAL_CONTROL).state is CLEARED


def test_stop_time_is_raised_apart_only_outside_a_flash(crossing: Crossing) -> None:
    t = crossing.t + STEP
    crossing.report(mode="flash", events=[(t - 5, 180, 1)])
    assert crossing.alarms(AlarmType.STOP_TIME) == []
    crossing.report()
    assert crossing.only(AlarmType.STOP_TIME).severity is Severity.MAJOR
    crossing.report(events=[(t + 100, 180, 0)])
    assert crossing.only(AlarmType.STOP_TIME).state is CLEARED


def test_detector_faults_by_event_and_a_detector_stuck_on(crossing: Crossing) -> None:
    t = crossing.t + STEP
    crossing.report(events=[(t - 10, 87, 5), (t - 9, 82, 2)])
    alarm = crossing.only(AlarmType.DETECTOR_FAULT)
    assert alarm.message == "detector 5: shorted loop"
    crossing.report(events=[(t + 20, 83, 5)])
    assert crossing.only(AlarmType.DETECTOR_FAULT).state is CLEARED
    while crossing.t < t - 9 + 900:
        crossing.report()
    alarm = crossing.only(AlarmType.DETECTOR_FAULT)
    assert (alarm.state, alarm.occurrences) == (RAISED, 2)
    crossing.report(events=[(crossing.t + 30, 81, 2)])
    assert crossing.only(AlarmType.DETECTOR_FAULT).state is CLEARED


def test_a_pedestrian_detector_failed_and_restored(crossing: Crossing) -> None:
    t = crossing.t + STEP
    crossing.report(events=[(t - 10, 91, 4)])
    assert crossing.only(AlarmType.PEDESTRIAN_DETECTOR_FAULT).message == (
        "pedestrian detector 4 failed"
    )
    crossing.report(events=[(t + 10, 92, 4)])
    assert crossing.only(AlarmType.PEDESTRIAN_DETECTOR_FAULT).state is CLEARED


def test_after_a_restart_what_the_events_raised_stays_until_an_event_says_otherwise(
    crossing: Crossing,
) -> None:
    t = crossing.t + STEP
    events = [(t - 10, 87, 5), (t - 10, 180, 1), (t - 10, 175, 0b100), (t - 10, 91, 2)]
    crossing.report(door="open", lamps={2: {"green": 0.36}, 4: {"red": 0.0}}, events=events)
    kinds = (
        AlarmType.DETECTOR_FAULT,
        AlarmType.STOP_TIME,
        AlarmType.CABINET_ALARM,
        AlarmType.PEDESTRIAN_DETECTOR_FAULT,
        RED,
        BREAK_IN,
    )
    assert [crossing.only(kind).state for kind in kinds] == [RAISED] * len(kinds)
    crossing.detector = crossing.new_detector()
    crossing.report(door="open", lamps={2: {"green": 0.36}, 4: {"green": 0.36}})
    assert [crossing.only(kind).state for kind in kinds] == [RAISED] * len(kinds)
    t = crossing.t + STEP
    events = [(t - 10, 83, 5), (t - 10, 180, 0), (t - 10, 175, 0), (t - 10, 92, 2)]
    crossing.report(lamps={4: {"red": 0.24}}, events=events)
    crossing.report(lamps={4: {"red": 0.24}})
    assert [crossing.only(kind).state for kind in kinds] == [CLEARED] * len(kinds)
    assert [crossing.only(kind).occurrences for kind in kinds] == [1] * len(kinds)


# Flapping and silence.


def test_a_flapping_flash_reopens_one_alarm_instead_of_raising_new_ones(
    crossing: Crossing,
) -> None:
    for _ in range(3):
        crossing.report(mode="flash")
        crossing.report()
    alarm = crossing.only(FLASH)
    assert (alarm.state, alarm.occurrences) == (CLEARED, 3)
    assert crossing.events(alarm) == [
        EventKind.RAISED,
        EventKind.CLEARED,
        EventKind.REOPENED,
        EventKind.CLEARED,
        EventKind.REOPENED,
        EventKind.CLEARED,
    ]


def test_a_silent_monitor_is_a_communication_failure_after_three_intervals(
    crossing: Crossing,
) -> None:
    last = crossing.t
    crossing.idle(last + 3 * STEP + 20.0)
    alarm = crossing.only(AlarmType.COMMUNICATION_FAILURE)
    assert alarm.raised_at == pytest.approx(last + 3 * STEP, abs=15.0)
