from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from signalight.codecs.inventory_csv import decode_csv, encode_csv
from signalight.codecs.inventory_fields import record_from_fields, record_to_fields
from signalight.codecs.inventory_geojson import decode_geojson, encode_geojson
from signalight.domain.assets import AssetRecord
from tests.codecs.inventory_samples import (
    asset_records,
    make_cabinet,
    make_intersection,
    make_streetlight,
)

round_trips = settings(max_examples=150, deadline=None)
record_lists = st.lists(asset_records(), max_size=8)


@round_trips
@given(record_lists)
def test_csv_round_trip(records: list[AssetRecord]) -> None:
    data = "".join(encode_csv(records)).encode()
    decoded = decode_csv(data)
    assert decoded.errors == []
    assert [record for _, record in decoded.records] == records
    lines = [line for line, _ in decoded.records]
    assert lines == sorted(lines)
    assert lines[:1] in ([], [2])


@round_trips
@given(record_lists)
def test_geojson_round_trip(records: list[AssetRecord]) -> None:
    decoded = decode_geojson(b"".join(encode_geojson(records)))
    assert decoded.errors == []
    assert decoded.records == list(enumerate(records, start=1))


@round_trips
@given(asset_records())
def test_fields_round_trip(record: AssetRecord) -> None:
    assert record_from_fields(record_to_fields(record)) == record


def test_fixed_records_round_trip() -> None:
    records = [make_streetlight(), make_cabinet(), make_intersection()]
    assert [r for _, r in decode_csv("".join(encode_csv(records)).encode()).records] == records
    assert [r for _, r in decode_geojson(b"".join(encode_geojson(records))).records] == records


def test_formulas_round_trip_escaped() -> None:
    names = [
        "=cmd|' /C calc'!A0",
        '=HYPERLINK("http://evil.example","Click")',
        "+SUM(1+1)",
        "@SUM(1)",
        "-2+3",
        "\t=1+1",
        "\r=1+1",
        "'=1+1",
        "''-x",
        "'t Hooft",
        "-5",
    ]
    records = [
        make_intersection(code=f"X-{n}", name=name, street=name, lat=-33.8688197, lon=-70.6692655)
        for n, name in enumerate(names)
    ]
    data = "".join(encode_csv(records))
    assert "'=cmd|' /C calc'!A0" in data
    assert ",-33.8688197,-70.6692655," in data
    assert [r for _, r in decode_csv(data.encode()).records] == records
