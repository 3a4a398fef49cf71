"""The recorder's order and isolation: a city whose database is away waits, the others go on."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from signalight.domain.alarms import Alarm, AlarmEvent, AlarmState, AlarmType, EventKind, Severity
from signalight.domain.errors import ConflictError, StorageUnavailableError
from signalight.domain.readings import RejectReason
from signalight.domain.telemetry import DeadLetter
from signalight.services.alarm_recorder import AlarmRecorder

Step = tuple[Alarm, EventKind, float]


class Sink:
    """An alarm sink in memory: one transaction a call, refusing what the test says."""

    def __init__(self) -> None:
        self.stored: list[tuple[int, str, EventKind]] = []  # (city, asset, kind)
        self.letters: list[DeadLetter] = []
        self.away: set[int] = set()  # cities whose database is away
        self.refused: set[str] = set()  # assets whose alarms break a constraint
        self.letters_away = False

    def record(self, changes: Sequence[Step]) -> list[AlarmEvent]:
        for alarm, _, _ in changes:
            if alarm.city_id in self.away:
                raise StorageUnavailableError("store alarms: database unavailable")
            if alarm.asset_code in self.refused:
                raise ConflictError("store alarms: FOREIGN KEY constraint failed")
        self.stored += [(a.city_id, a.asset_code or "", kind) for a, kind, _ in changes]
        return []

    def reject(self, letters: Sequence[DeadLetter]) -> None:
        if self.letters_away:
            raise StorageUnavailableError("store dead letters: database unavailable")
        self.letters += letters


def alarm(city: int, code: str) -> Alarm:
    return Alarm(
        city_id=city,
        type=AlarmType.LAMP_FAILURE,
        severity=Severity.MAJOR,
        state=AlarmState.RAISED,
        asset_code=code,
        raised_at=1.0,
        observed_at=1.0,
        updated_at=1.0,
    )


def raised(city: int, code: str) -> Step:
    return (alarm(city, code), EventKind.RAISED, 1.0)


def test_a_city_whose_database_is_away_waits_in_order_while_the_others_are_stored() -> None:
    sink = Sink()
    recorder = AlarmRecorder(sink, wall=lambda: 5.0)
    sink.away = {1}
    with pytest.raises(StorageUnavailableError):
        recorder.record([raised(1, "A-1"), raised(2, "B-1"), raised(1, "A-2")])
    assert sink.stored == [(2, "B-1", EventKind.RAISED)]
    assert recorder.waiting == 2
    sink.away = set()
    recorder.record([raised(1, "A-3")])
    assert [code for city, code, _ in sink.stored if city == 1] == ["A-1", "A-2", "A-3"]
    assert recorder.waiting == 0
    assert sink.letters == []


def test_a_refused_alarm_is_a_dead_letter_and_its_city_s_other_alarms_are_stored() -> None:
    sink = Sink()
    recorder = AlarmRecorder(sink, wall=lambda: 5.0)
    sink.refused = {"A-2"}
    first = alarm(1, "A-2")
    recorder.record(
        [
            raised(1, "A-1"),
            (first, EventKind.RAISED, 1.0),
            raised(2, "B-1"),
            (first, EventKind.CLEARED, 2.0),
            raised(1, "A-3"),
        ]
    )
    assert sorted(code for _, code, _ in sink.stored) == ["A-1", "A-3", "B-1"]
    [letter] = sink.letters
    assert letter.reason is RejectReason.ALARM_NOT_STORED
    assert letter.city_id == 1
    assert letter.received_at == 5.0
    assert "FOREIGN KEY" in letter.message
    assert "raised, cleared" in letter.message
    assert recorder.rejected == 2
    recorder.record([])
    assert len(sink.letters) == 1  # never tried again


def test_a_refused_alarm_waits_while_the_dead_letters_cannot_be_stored() -> None:
    sink = Sink()
    recorder = AlarmRecorder(sink)
    sink.refused = {"A-2"}
    sink.letters_away = True
    with pytest.raises(StorageUnavailableError):
        recorder.record([raised(1, "A-1"), raised(1, "A-2"), raised(1, "A-3")])
    assert [code for _, code, _ in sink.stored] == ["A-1"]
    assert recorder.waiting == 2
    sink.letters_away = False
    recorder.record([])
    assert [code for _, code, _ in sink.stored] == ["A-1", "A-3"]
    assert [letter.topic for letter in sink.letters] == ["alarms/lampFailure/A-2"]
