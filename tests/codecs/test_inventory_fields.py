from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from signalight.codecs.inventory_fields import (
    COLUMNS,
    Decoded,
    RecordError,
    RowError,
    field_value,
    parse_mapping,
    record_from_fields,
    record_to_fields,
    record_to_properties,
)
from signalight.domain.assets import (
    AssetKind,
    AssetRecord,
    AssetStatus,
    LuminaireType,
    StreetClass,
)
from signalight.domain.errors import InvalidInputError
from tests.codecs.inventory_samples import make_cabinet, make_intersection, make_streetlight

MINIMAL = {"kind": "streetlight", "code": "P-1", "lat": "52.37", "lon": "4.89"}


def problems_of(fields: dict[str, object], *, decimal_comma: bool = False) -> list[str]:
    with pytest.raises(RecordError) as caught:
        record_from_fields(fields, decimal_comma=decimal_comma)
    return list(caught.value.problems)


def test_columns_are_the_record_fields() -> None:
    assert sorted(COLUMNS) == sorted(field.name for field in dataclasses.fields(AssetRecord))
    assert COLUMNS == (
        "kind",
        "code",
        "name",
        "lat",
        "lon",
        "status",
        "street",
        "street_class",
        "cabinet",
        "group",
        "installed_on",
        "luminaire",
        "rated_watts",
        "lamp_changed_on",
        "controller_id",
        "controller_vendor",
        "phases",
        "device",
        "device_firmware",
    )


def test_text_fields_make_a_full_record() -> None:
    record = record_from_fields(
        {
            "kind": " Streetlight ",
            "code": " P-1 ",
            "name": "Dam 1",
            "lat": "52.3702157",
            "lon": "4.8951679",
            "status": "OUT_OF_SERVICE",
            "street": "Dam",
            "street_class": "Local",
            "cabinet": "C-01",
            "group": "centre",
            "installed_on": "2018-05-04",
            "luminaire": "metal-halide",
            "rated_watts": "70",
            "lamp_changed_on": "2022-01-09",
            "controller_id": "",
            "controller_vendor": "",
            "phases": "",
            "device": "node-1",
            "device_firmware": "1.4.2",
        }
    )
    assert record == AssetRecord(
        kind=AssetKind.STREETLIGHT,
        code="P-1",
        name="Dam 1",
        lat=52.3702157,
        lon=4.8951679,
        status=AssetStatus.OUT_OF_SERVICE,
        street="Dam",
        street_class=StreetClass.LOCAL,
        cabinet="C-01",
        group="centre",
        installed_on=date(2018, 5, 4),
        luminaire=LuminaireType.METAL_HALIDE,
        rated_watts=70.0,
        lamp_changed_on=date(2022, 1, 9),
        device="node-1",
        device_firmware="1.4.2",
    )


def test_json_values_make_a_record() -> None:
    record = record_from_fields(
        {
            "kind": "intersection",
            "code": 1234,
            "lat": 52,
            "lon": 4.5,
            "phases": [2, 4, 6.0, 8],
            "cabinet": None,
            "device": None,
            "name": None,
        }
    )
    assert record.code == "1234"
    assert (record.lat, record.lon) == (52.0, 4.5)
    assert record.phases == (2, 4, 6, 8)
    assert record.cabinet is None
    assert record.name == ""


def test_empty_means_not_given() -> None:
    record = record_from_fields({**MINIMAL, "status": "", "cabinet": "  ", "rated_watts": ""})
    assert record.status is AssetStatus.IN_SERVICE
    assert record.cabinet is None
    assert record.rated_watts is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metal_halide", LuminaireType.METAL_HALIDE),
        ("Metal-Halide", LuminaireType.METAL_HALIDE),
        ("metal halide", LuminaireType.METAL_HALIDE),
        ("METAL  HALIDE", LuminaireType.METAL_HALIDE),
        ("LED", LuminaireType.LED),
    ],
)
def test_luminaire_spellings(text: str, expected: LuminaireType) -> None:
    assert record_from_fields({**MINIMAL, "luminaire": text}).luminaire is expected


@pytest.mark.parametrize(
    ("text", "expected"), [("2;4;6;8", (2, 4, 6, 8)), ("2 4", (2, 4)), ("1|3", (1, 3))]
)
def test_phase_separators(text: str, expected: tuple[int, ...]) -> None:
    fields = {**MINIMAL, "kind": "intersection", "phases": text}
    assert record_from_fields(fields).phases == expected


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("kind", "lamp", "kind: 'lamp' is not one of streetlight, cabinet, intersection"),
        ("lat", "north", "lat: 'north' is not a number"),
        ("lat", "nan", "lat: 'nan' is not a finite number"),
        ("lon", "-inf", "lon: '-inf' is not a finite number"),
        ("lat", True, "lat: true is not a number"),
        ("rated_watts", "abc", "rated_watts: 'abc' is not a number"),
        ("rated_watts", "54,5", "rated_watts: '54,5' is not a number (write decimals with '.')"),
        ("installed_on", "04/05/2018", "installed_on: '04/05/2018' is not a date (YYYY-MM-DD)"),
        ("installed_on", "2018-02-30", "installed_on: '2018-02-30' is not a date (YYYY-MM-DD)"),
        ("installed_on", "20180504", "installed_on: '20180504' is not a date (YYYY-MM-DD)"),
        ("status", "broken", "status: 'broken' is not one of planned, in_service,"),
        ("phases", "2;x", "phases: '2;x' is not a list of phase numbers like 2;4;6;8"),
        ("phases", [2, "x"], "phases: [2, 'x'] is not a list of phase numbers like 2;4;6;8"),
        ("name", ["a"], "name: ['a'] is not text"),
        ("colour", "red", "colour: not an inventory column"),
    ],
)
def test_bad_values_name_column_and_value(column: str, value: object, reason: str) -> None:
    problems = problems_of({**MINIMAL, column: value})
    assert len(problems) == 1
    assert problems[0].startswith(reason)


def test_long_values_are_truncated_in_reasons() -> None:
    [problem] = problems_of({**MINIMAL, "rated_watts": "9" * 30 + "x" * 100})
    assert len(problem) < 80
    assert problem.startswith("rated_watts: '999")
    assert "…' is not a number" in problem


def test_all_problems_of_a_record_are_collected() -> None:
    problems = problems_of(
        {"kind": "cabinet", "lat": "x", "rated_watts": "abc", "cabinet": "C-2", "lon": "4"}
    )
    assert problems == [
        "lat: 'x' is not a number",
        "rated_watts: 'abc' is not a number",
        "code: missing",
    ]


def test_domain_problems_follow_field_problems() -> None:
    problems = problems_of({**MINIMAL, "kind": "cabinet", "cabinet": "C-2", "installed_on": "x"})
    assert problems == [
        "installed_on: 'x' is not a date (YYYY-MM-DD)",
        "a cabinet is not fed by another cabinet",
    ]


def test_missing_required_fields() -> None:
    assert problems_of({}) == ["kind: missing", "code: missing", "lat: missing", "lon: missing"]


def test_decimal_comma() -> None:
    record = record_from_fields(
        {**MINIMAL, "lat": "52,37", "rated_watts": "54,5"}, decimal_comma=True
    )
    assert (record.lat, record.rated_watts) == (52.37, 54.5)


def test_pairs_work_like_a_mapping() -> None:
    assert record_from_fields(list(MINIMAL.items())) == record_from_fields(MINIMAL)


def test_field_value() -> None:
    assert field_value("lat", " 52.5 ") == 52.5
    with pytest.raises(InvalidInputError, match=r"lat: 'x' is not a number"):
        field_value("lat", "x")
    with pytest.raises(InvalidInputError, match="not an inventory column"):
        field_value("height", "3")


def test_record_to_fields_formats() -> None:
    fields = record_to_fields(make_streetlight(lat=52.1, lon=-0.0, rated_watts=60.0))
    assert tuple(fields) == COLUMNS
    assert fields["lat"] == "52.1"
    assert fields["lon"] == "0"
    assert fields["rated_watts"] == "60"
    assert fields["installed_on"] == "2018-05-04"
    assert fields["luminaire"] == "led"
    cabinet = record_to_fields(make_cabinet())
    assert (cabinet["cabinet"], cabinet["rated_watts"], cabinet["street_class"]) == ("", "", "")
    assert record_to_fields(make_intersection())["phases"] == "2;4;6;8"


def test_record_to_fields_keeps_seven_decimals() -> None:
    fields = record_to_fields(make_streetlight(lat=52.37021574, lon=4.000000049))
    assert (fields["lat"], fields["lon"]) == ("52.3702157", "4")


def test_record_to_properties() -> None:
    properties = record_to_properties(make_intersection())
    assert "lat" not in properties
    assert "lon" not in properties
    assert properties["phases"] == [2, 4, 6, 8]
    assert properties["luminaire"] is None
    assert properties["rated_watts"] is None
    assert properties["kind"] == "intersection"
    assert tuple(properties) == tuple(c for c in COLUMNS if c not in {"lat", "lon"})
    assert record_to_properties(make_streetlight())["rated_watts"] == 54.5


def test_parse_mapping() -> None:
    assert parse_mapping(["Pole_No=code", " notes = - ", "X=LAT"]) == {
        "pole_no": "code",
        "notes": None,
        "x": "lat",
    }
    assert parse_mapping([]) == {}


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["pole_no"], "write NAME=COLUMN"),
        (["=code"], "write NAME=COLUMN"),
        (["pole_no="], "write NAME=COLUMN"),
        (["pole_no=pole"], "'pole' is not an inventory column"),
        (["a=code", "A=name"], "'a' is mapped twice"),
        (["a=code", "b=code"], "both 'a' and 'b' map to 'code'"),
    ],
)
def test_parse_mapping_errors(items: list[str], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_mapping(items)


def test_row_error_text_and_decoded_ok() -> None:
    assert str(RowError(17, "rated_watts: 'abc' is not a number")) == (
        "line 17: rated_watts: 'abc' is not a number"
    )
    assert str(RowError(3, "has no geometry", "feature")) == "feature 3: has no geometry"
    assert str(RowError(0, "the file is empty", "file")) == "file: the file is empty"
    assert Decoded([], []).ok
    assert not Decoded([], [RowError(0, "x", "file")]).ok
