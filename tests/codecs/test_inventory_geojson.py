from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from signalight.codecs.inventory_fields import COLUMNS, Decoded, RowError
from signalight.codecs.inventory_geojson import decode_geojson, encode_geojson
from signalight.domain.assets import AssetKind
from tests.codecs.inventory_samples import make_cabinet, make_intersection, make_streetlight


def point(lon: float, lat: float, /, **properties: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": properties,
    }


def collection(*features: object) -> bytes:
    return orjson.dumps({"type": "FeatureCollection", "features": list(features)})


def reasons(decoded: Decoded) -> list[str]:
    return [str(error) for error in decoded.errors]


def test_decode_collection() -> None:
    data = collection(
        point(
            4.5, 52.1, kind="streetlight", code="P-1", rated_watts=54.5, installed_on="2020-01-02"
        ),
        point(4.6, 52.2, kind="intersection", code="X-1", phases=[2, 6], name=None),
    )
    decoded = decode_geojson(data)
    assert decoded.ok, reasons(decoded)
    (first_number, first), (second_number, second) = decoded.records
    assert (first_number, second_number) == (1, 2)
    assert (first.kind, first.lat, first.lon, first.rated_watts) == (
        AssetKind.STREETLIGHT,
        52.1,
        4.5,
        54.5,
    )
    assert second.phases == (2, 6)
    assert second.name == ""


def test_decode_single_feature_with_altitude() -> None:
    feature = point(4.5, 52.1, kind="cabinet", code="C-1")
    feature["geometry"]["coordinates"].append(3.5)
    decoded = decode_geojson(orjson.dumps(feature))
    assert decoded.ok, reasons(decoded)
    assert decoded.records[0][1].lat == 52.1


def test_feature_id_is_the_code_when_properties_lack_one() -> None:
    feature = {**point(4.5, 52.1, kind="cabinet"), "id": 17}
    named = {**point(4.5, 52.1, kind="cabinet", code="C-1"), "id": "f1"}
    decoded = decode_geojson(collection(feature, named))
    assert [record.code for _, record in decoded.records] == ["17", "C-1"]


def test_lat_lon_properties_equal_to_the_geometry_are_ignored() -> None:
    data = collection(point(4.5, 52.1, kind="cabinet", code="C-1", lat="52.1", lon=4.50000001))
    decoded = decode_geojson(data)
    assert decoded.ok, reasons(decoded)


def test_lat_property_that_disagrees_with_the_geometry() -> None:
    data = collection(
        point(4.5, 52.1, kind="cabinet", code="C-1"),
        point(4.5, 52.1, kind="cabinet", code="C-2", LAT=52.2),
    )
    decoded = decode_geojson(data)
    assert [record.code for _, record in decoded.records] == ["C-1"]
    assert decoded.errors == [
        RowError(2, "lat: 52.2 in properties disagrees with 52.1 in the geometry", "feature")
    ]


def test_bad_values_are_reported_per_feature() -> None:
    data = collection(
        point(4.5, 52.1, kind="lamp", code="P-1"),
        point(4.5, 52.1, kind="streetlight", code="P-2"),
        point(4.5, 95, kind="streetlight", code="P-3", rated_watts="abc", phases=[1, "x"]),
    )
    decoded = decode_geojson(data)
    assert [number for number, _ in decoded.records] == [2]
    assert reasons(decoded) == [
        "feature 1: kind: 'lamp' is not one of streetlight, cabinet, intersection",
        "feature 3: rated_watts: 'abc' is not a number",
        "feature 3: phases: [1, 'x'] is not a list of phase numbers like 2;4;6;8",
        "feature 3: lat must be within -90..90 and lon within -180..180",
    ]


def test_invalid_json_names_the_position() -> None:
    decoded = decode_geojson(b'{"type": "FeatureCollection",\n "features": [}')
    assert decoded.records == []
    [error] = decoded.errors
    assert error.where == "file"
    assert error.reason.startswith("not valid JSON: ")
    assert error.reason.endswith("at line 2, column 15")


def test_byte_order_mark_is_accepted() -> None:
    decoded = decode_geojson(b"\xef\xbb\xbf" + collection(point(1, 2, kind="cabinet", code="C")))
    assert decoded.ok, reasons(decoded)


def test_line_string_geometry() -> None:
    line = point(4.5, 52.1, kind="cabinet", code="C-1")
    line["geometry"] = {"type": "LineString", "coordinates": [[4.5, 52.1], [4.6, 52.2]]}
    decoded = decode_geojson(collection(line))
    assert reasons(decoded) == [
        "feature 1: geometry is a LineString, not a Point; each asset is one point"
    ]


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        (None, "has no geometry; each asset must be a Point"),
        ("POINT (1 2)", "geometry must be a GeoJSON geometry object"),
        ({"type": "Point", "coordinates": [1]}, "geometry coordinates must be [lon, lat]"),
        ({"type": "Point", "coordinates": [1, "2"]}, "geometry coordinates must be [lon, lat]"),
        ({"type": "Point", "coordinates": [1, True]}, "geometry coordinates must be [lon, lat]"),
        ({"coordinates": [1, 2]}, "geometry has no GeoJSON type"),
    ],
)
def test_unusable_geometry(geometry: object, reason: str) -> None:
    feature = point(4.5, 52.1, kind="cabinet", code="C-1", rated_watts="x", phases=[2], lat=52.1)
    feature["geometry"] = geometry
    errors = decode_geojson(collection(feature)).errors
    assert errors[0].reason.startswith(reason)
    assert errors[0].line == 1
    assert errors[0].where == "feature"
    # The other properties are checked as well, and lat is not compared with a stand-in.
    assert [error.reason for error in errors[1:]] == [
        "rated_watts: 'x' is not a number",
        "controller_id, controller_vendor and phases apply to intersections only",
    ]


def test_missing_geometry_member() -> None:
    feature = point(4.5, 52.1, kind="cabinet", code="C-1")
    del feature["geometry"]
    assert reasons(decode_geojson(collection(feature))) == [
        "feature 1: has no geometry; each asset must be a Point"
    ]


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([1, 2], "not an array"),
        ({"type": "Topology"}, "not 'Topology'"),
        ({"features": []}, "not an object without a GeoJSON type"),
        ("FeatureCollection", "not a string"),
    ],
)
def test_top_level_must_be_a_collection_or_feature(document: object, reason: str) -> None:
    [error] = decode_geojson(orjson.dumps(document)).errors
    assert error.where == "file"
    assert error.reason.startswith("the top level must be a GeoJSON FeatureCollection or Feature")
    assert error.reason.endswith(reason)


def test_collection_without_features() -> None:
    decoded = decode_geojson(b'{"type": "FeatureCollection"}')
    assert reasons(decoded) == ["file: the FeatureCollection has no 'features' list"]


def test_members_that_are_not_features() -> None:
    decoded = decode_geojson(collection(1, {"type": "Point", "coordinates": [1, 2]}))
    assert reasons(decoded) == [
        "feature 1: is not a GeoJSON Feature",
        "feature 2: is not a GeoJSON Feature",
    ]


def test_unknown_properties_are_a_file_error_and_mapping_fixes_them() -> None:
    data = collection(
        point(4.5, 52.1, kind="cabinet", code="C-1"),
        point(4.5, 52.1, kind="cabinet", code="C-2", fid=2, Pole="P"),
    )
    decoded = decode_geojson(data)
    assert decoded.errors[0].where == "file"
    assert decoded.errors[0].reason.startswith(
        "unknown properties: 'fid' (feature 2), 'Pole' (feature 2);"
    )
    assert "--map NAME=-" in decoded.errors[0].reason
    assert decode_geojson(data, {"fid": None, "pole": "name"}).ok


def test_encode_is_an_rfc_7946_feature_collection() -> None:
    records = [make_streetlight(), make_cabinet(), make_intersection()]
    document = orjson.loads(b"".join(encode_geojson(records)))
    assert document["type"] == "FeatureCollection"
    assert len(document["features"]) == 3
    for feature, record in zip(document["features"], records, strict=True):
        assert set(feature) == {"type", "id", "geometry", "properties"}
        assert feature["type"] == "Feature"
        assert feature["id"] == record.code
        assert feature["geometry"] == {"type": "Point", "coordinates": [record.lon, record.lat]}
        assert "lat" not in feature["properties"]
        assert set(feature["properties"]) == set(COLUMNS) - {"lat", "lon"}
    assert document["features"][2]["properties"]["phases"] == [2, 4, 6, 8]
    assert document["features"][1]["properties"]["luminaire"] is None


def test_encode_rounds_coordinates_to_seven_decimals() -> None:
    document = orjson.loads(b"".join(encode_geojson([make_cabinet(lat=1.123456789, lon=-2.5)])))
    assert document["features"][0]["geometry"]["coordinates"] == [-2.5, 1.1234568]


def test_encode_foreign_members() -> None:
    chunks = encode_geojson([], foreign_members={"name": "Springfield", "generated": 3})
    assert orjson.loads(b"".join(chunks)) == {
        "type": "FeatureCollection",
        "name": "Springfield",
        "generated": 3,
        "features": [],
    }
    with pytest.raises(ValueError, match="cannot replace features, type"):
        encode_geojson([], foreign_members={"type": "x", "features": []})
    with pytest.raises(TypeError):
        encode_geojson([], foreign_members={"when": object()})


def test_encode_streams_chunks() -> None:
    records = [make_streetlight(code=f"P-{n}", cabinet=None) for n in range(3000)]
    chunks = list(encode_geojson(records))
    assert len(chunks) > 3
    assert max(len(chunk) for chunk in chunks[:-1]) < 80 * 1024
    document = orjson.loads(b"".join(chunks))
    assert [feature["id"] for feature in document["features"]] == [r.code for r in records]


def test_encode_is_lazy() -> None:
    def records() -> Iterator[object]:
        yield make_cabinet()
        raise AssertionError("read too far")

    chunks = encode_geojson(records())  # type: ignore[arg-type]
    assert next(chunks).startswith(b'{"type":"FeatureCollection","features":[')
