from __future__ import annotations

from datetime import date

import pytest

from signalight.domain.assets import (
    RECORD_FIELDS,
    Asset,
    AssetKind,
    AssetRecord,
    LuminaireType,
    as_record,
    check_record,
    device_uid_problems,
    record_problems,
)
from signalight.domain.errors import InvalidInputError
from signalight.domain.geo import BBox, distance_m, inner_box, offset


def light(**overrides: object) -> AssetRecord:
    values: dict[str, object] = {
        "kind": AssetKind.STREETLIGHT,
        "code": "SL-1",
        "lat": 5.4,
        "lon": 100.4,
        "luminaire": LuminaireType.LED,
        "rated_watts": 60.0,
    }
    values.update(overrides)
    return AssetRecord(**values)  # type: ignore[arg-type]


def test_valid_light_has_no_problems() -> None:
    assert record_problems(light()) == []
    assert check_record(light()) == light()


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"code": ""}, "code"),
        ({"code": " SL-1"}, "code"),
        ({"lat": 95.0}, "lat"),
        ({"rated_watts": 0.0}, "rated_watts"),
        ({"rated_watts": 25_000.0}, "rated_watts"),
        ({"cabinet": "SL-1"}, "own cabinet"),
        ({"device": "a/b"}, "MQTT"),
        ({"installed_on": date(2020, 1, 1), "lamp_changed_on": date(2019, 1, 1)}, "before"),
        ({"phases": (2, 4)}, "intersections only"),
    ],
)
def test_each_problem_is_reported(overrides: dict[str, object], fragment: str) -> None:
    problems = record_problems(light(**overrides))
    assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize(
    "uid", ["n\n1", "n\r1", "n\t1", "n:1", "n 1", "n\x001", "n\x7f1", "n\u20281", "a/b", "a+", "#"]
)
def test_a_device_id_that_cannot_name_a_topic_or_username_is_refused(uid: str) -> None:
    assert device_uid_problems(uid)
    assert any("device id cannot contain" in p for p in record_problems(light(device=uid)))


@pytest.mark.parametrize("uid", ["n-000001", "SL_42.a", "70B3D57ED0051234", "lámpara-1"])
def test_ordinary_device_ids_pass(uid: str) -> None:
    assert device_uid_problems(uid) == []


def test_kind_specific_fields() -> None:
    cabinet = AssetRecord(kind=AssetKind.CABINET, code="CB", lat=5.4, lon=100.4, rated_watts=10.0)
    assert any("streetlights only" in p for p in record_problems(cabinet))
    fed_cabinet = AssetRecord(kind=AssetKind.CABINET, code="CB", lat=5.4, lon=100.4, cabinet="X")
    assert any("not fed" in p for p in record_problems(fed_cabinet))
    crossing = AssetRecord(
        kind=AssetKind.INTERSECTION, code="TS", lat=5.4, lon=100.4, phases=(2, 4, 4, 41)
    )
    problems = record_problems(crossing)
    assert any("repeat" in p for p in problems)
    assert any("1 to 40" in p for p in problems)


def test_check_record_raises_with_all_problems() -> None:
    with pytest.raises(InvalidInputError, match=r"rated_watts.*lamp_changed_on|lat.*rated_watts"):
        check_record(light(lat=100.0, rated_watts=-5.0))


def test_as_record_drops_identifiers() -> None:
    record = light(device="n-1", cabinet="CB-1")
    stored = Asset(**{f: getattr(record, f) for f in RECORD_FIELDS}, id=3, city_id=1, cabinet_id=2)
    plain = as_record(stored)
    assert type(plain) is AssetRecord
    assert plain == record


def test_bbox_parse_and_contains() -> None:
    box = BBox.parse("100.3,5.3,100.5,5.5")
    assert box.contains(5.4, 100.4)
    assert not box.contains(5.6, 100.4)
    for bad in ("1,2,3", "a,b,c,d", "100.5,5.3,100.3,5.5", "200,0,201,1"):
        with pytest.raises(InvalidInputError):
            BBox.parse(bad)


def test_offset_and_distance_agree() -> None:
    lat, lon = offset(5.4, 100.4, north_m=300.0, east_m=400.0)
    assert distance_m(5.4, 100.4, lat, lon) == pytest.approx(500.0, rel=1e-3)


@pytest.mark.parametrize(
    "centre", [(5.38, 100.43), (60.17, 24.94), (-41.29, 174.78), (0.0, -179.9)]
)
def test_inner_box_lies_within_the_radius(centre: tuple[float, float]) -> None:
    box = inner_box(centre, 100_000)
    for lat in (box.south, box.north):
        for lon in (box.west, box.east):
            assert distance_m(centre[0], centre[1], lat, lon) <= 100_000
