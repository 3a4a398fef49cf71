"""The map's status rules over plain values: alarm first (worst severity), then device, sun."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from signalight.domain.alarms import Severity
from signalight.domain.faults import DetectionSettings
from signalight.domain.status import AlarmMark, MapAsset
from signalight.services.city_status import mean_hours
from signalight.services.map_status import MAP_FIELDS, StatusJudge, worst

ZONE = "Asia/Kuala_Lumpur"
DAY = datetime(2024, 6, 1, 6, 0, tzinfo=UTC)  # 14:00 local: the sun is high
NIGHT = datetime(2024, 6, 1, 16, 0, tzinfo=UTC)  # midnight local


def light(**overrides: object) -> MapAsset:
    values: dict[str, object] = {
        "id": 7,
        "kind": "streetlight",
        "code": "SL-7",
        "lon": 100.4012345678,
        "lat": 5.3812345678,
        "status": "in_service",
        "cabinet": "CAB-1",
        "street_class": "local",
        "device_kind": "streetlight_node",
        "last_seen": NIGHT.timestamp() - 60,
    }
    values.update(overrides)
    return MapAsset(**values)  # type: ignore[arg-type]


def status_of(asset: MapAsset, marks: list[AlarmMark] | None = None, at: datetime = NIGHT) -> str:
    return StatusJudge(ZONE, DetectionSettings(), at).judge(asset, marks or []).status


def test_a_heard_light_by_night_is_working_and_by_day_off_by_schedule() -> None:
    assert status_of(light()) == "working"
    assert status_of(light(last_seen=DAY.timestamp() - 60), at=DAY) == "off_by_schedule"


def test_a_cabinet_by_day_is_working_not_off() -> None:
    cabinet = light(kind="cabinet", device_kind="cabinet_meter", last_seen=DAY.timestamp())
    assert status_of(cabinet, at=DAY) == "working"


def test_the_worst_open_alarm_wins_and_all_types_are_listed() -> None:
    marks = [
        AlarmMark("lampFailure", Severity.MINOR),
        AlarmMark("orientationChanged", Severity.MAJOR),
        AlarmMark("dimmingFailure", Severity.WARNING, held=True),
    ]
    judged = StatusJudge(ZONE, DetectionSettings(), DAY).judge(light(last_seen=None), marks)
    assert (judged.status, judged.severity) == ("alarm", Severity.MAJOR)
    assert judged.alarm_types == ["dimmingFailure", "lampFailure", "orientationChanged"]
    assert worst([AlarmMark("supplyLoss", Severity.CRITICAL), *marks]) is Severity.CRITICAL
    assert worst([]) is None


def test_silent_past_the_city_threshold_or_never_heard() -> None:
    settings = DetectionSettings()  # 3 intervals of 300 s for a light's node
    limit = settings.silent_intervals * settings.default_interval_s["streetlight_node"]
    now = NIGHT.timestamp()
    assert status_of(light(last_seen=now - limit + 5)) == "working"
    assert status_of(light(last_seen=now - limit - 5)) == "silent"
    assert status_of(light(last_seen=None)) == "silent"
    # A city that waits longer before calling a device silent.
    patient = settings.merged({"silent_intervals": 10})
    judge = StatusJudge(ZONE, patient, NIGHT)
    assert judge.judge(light(last_seen=now - limit - 5), []).status == "working"


def test_no_device_is_unknown_and_an_asset_not_in_service_shows_its_status() -> None:
    assert status_of(light(device_kind=None, last_seen=None)) == "unknown"
    alarm = [AlarmMark("lampFailure", Severity.MINOR)]
    for word in ("removed", "planned", "out_of_service"):
        assert status_of(light(status=word), alarm) == word


def test_a_row_follows_the_fields_and_rounds_coordinates() -> None:
    row = StatusJudge(ZONE, DetectionSettings(), NIGHT).row(
        light(), [AlarmMark("lampFailure", Severity.MINOR)]
    )
    assert dict(zip(MAP_FIELDS, row, strict=True)) == {
        "id": 7,
        "kind": "streetlight",
        "code": "SL-7",
        "lon": 100.401235,
        "lat": 5.381235,
        "status": "alarm",
        "severity": "minor",
        "alarm_types": ["lampFailure"],
        "cabinet": "CAB-1",
        "street_class": "local",
    }


def test_mean_repair_hours() -> None:
    assert mean_hours([]) is None
    assert mean_hours([(0.0, 3600.0), (100.0, 100.0 + 3 * 3600.0)]) == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("asset", "marks", "at"),
    [
        (light(), [], NIGHT),
        (light(last_seen=DAY.timestamp()), [], DAY),
        (light(last_seen=None), [], NIGHT),
        (light(device_kind=None), [], NIGHT),
        (light(status="removed"), [], NIGHT),
        (light(), [AlarmMark("supplyLoss", Severity.CRITICAL, held=True)], DAY),
    ],
)
def test_a_row_says_what_judge_says(asset: MapAsset, marks: list[AlarmMark], at: datetime) -> None:
    judge = StatusJudge(ZONE, DetectionSettings(), at)
    judged = judge.judge(asset, marks)
    row = judge.row(asset, marks)
    severity = None if judged.severity is None else judged.severity.value
    assert row[5:8] == [judged.status, severity, judged.alarm_types]
