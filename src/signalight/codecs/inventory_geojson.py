"""Inventory files as GeoJSON (RFC 7946): a FeatureCollection of Point features, one per asset."""

from __future__ import annotations

import codecs
from typing import TYPE_CHECKING, cast

import orjson

from signalight.codecs.inventory_fields import (
    COLUMNS,
    COORDINATE_DECIMALS,
    Decoded,
    RecordError,
    RowError,
    field_value,
    record_from_fields,
    record_to_properties,
)
from signalight.domain.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from signalight.domain.assets import AssetRecord

__all__ = ["decode_geojson", "encode_geojson"]

CHUNK_BYTES = 64 * 1024  # features are sent in chunks of about this size
# Coordinates in properties may be rounded by the tool that wrote them; 1e-7 degree is ~1 cm.
COORDINATE_TOLERANCE = 10.0**-COORDINATE_DECIMALS
_COORDINATES_SHAPE = "geometry coordinates must be [lon, lat] or [lon, lat, altitude]"
_UNSET = ("", None)
_KNOWN = frozenset(COLUMNS)
_JSON_TYPES = {
    dict: "an object without a GeoJSON type",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def _features(document: object) -> list[object] | RowError:
    """The features of a FeatureCollection, or of a single Feature."""
    kind = document.get("type") if isinstance(document, dict) else None
    if kind == "Feature":
        return [document]
    if kind == "FeatureCollection":
        features = cast("dict[str, object]", document).get("features")
        if isinstance(features, list):
            return features
        return RowError(0, "the FeatureCollection has no 'features' list", "file")
    what = repr(kind) if isinstance(kind, str) else _JSON_TYPES.get(type(document), "that")
    reason = f"the top level must be a GeoJSON FeatureCollection or Feature, not {what}"
    return RowError(0, reason, "file")


def _point(feature: dict[str, object]) -> tuple[float, float] | str:
    """The feature's (lat, lon), or why its geometry is not a usable Point."""
    geometry = feature.get("geometry")
    if geometry is None:
        return "has no geometry; each asset must be a Point"
    if not isinstance(geometry, dict):
        return "geometry must be a GeoJSON geometry object"
    kind = geometry.get("type")
    if not isinstance(kind, str):
        return "geometry has no GeoJSON type; each asset must be a Point"
    if kind != "Point":
        return f"geometry is a {kind}, not a Point; each asset is one point"
    coordinates = geometry.get("coordinates")
    if (
        not isinstance(coordinates, list)
        or len(coordinates) not in {2, 3}
        or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coordinates)
    ):
        return _COORDINATES_SHAPE
    lon, lat = coordinates[0], coordinates[1]
    return float(lat), float(lon)


def _coordinate_problems(fields: dict[str, object], lat: float, lon: float) -> list[str]:
    """Compare lat/lon given as properties with the geometry, and drop them from ``fields``."""
    problems: list[str] = []
    for column, actual in (("lat", lat), ("lon", lon)):
        given = fields.pop(column, None)
        if given in _UNSET or (isinstance(given, str) and not given.strip()):
            continue
        try:
            stated = cast("float", field_value(column, given))
        except InvalidInputError as exc:
            problems.append(str(exc))
            continue
        if abs(stated - actual) > COORDINATE_TOLERANCE:
            problems.append(
                f"{column}: {stated} in properties disagrees with {actual} in the geometry"
            )
    return problems


class _PropertyNames:
    """Turns property names into columns, working each name out once rather than per feature."""

    def __init__(self, mapping: Mapping[str, str | None] | None) -> None:
        self.renames = {
            source.strip().lower(): (target.strip().lower() if target else None)
            for source, target in (mapping or {}).items()
        }
        self.columns: dict[str, str | None] = {}  # property name -> column, None to skip it
        self.unknown: dict[str, int] = {}  # unknown property name -> first feature with it

    def _learn(self, name: str, number: int) -> str | None:
        source = name.strip().lower()
        column = self.renames.get(source, source)
        if column is not None and column not in _KNOWN:
            self.unknown[name] = number
            column = None
        self.columns[name] = column
        return column

    def fields(
        self, properties: dict[str, object], number: int, problems: list[str]
    ) -> dict[str, object]:
        """The properties of feature ``number`` by column; a column given twice is a problem."""
        fields: dict[str, object] = {}
        for name, value in properties.items():
            column = self.columns[name] if name in self.columns else self._learn(name, number)
            if column is None:
                continue
            if column in fields:
                problems.append(f"{column}: given twice in the properties")
            else:
                fields[column] = value
        return fields


def _feature(feature: object, names: _PropertyNames, number: int) -> AssetRecord | list[str]:
    """The record of one feature, or its problems."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return ["is not a GeoJSON Feature"]
    point = _point(feature)
    problems = [point] if isinstance(point, str) else []
    properties = feature.get("properties")
    if properties is None:
        properties = {}
    elif not isinstance(properties, dict):
        return [*problems, "properties must be a JSON object"]
    fields = names.fields(properties, number, problems)
    if isinstance(point, str):
        # Stand-in coordinates, so that the other properties are still checked.
        fields.pop("lat", None)
        fields.pop("lon", None)
        point = (0.0, 0.0)
    else:
        problems.extend(_coordinate_problems(fields, *point))
    fields["lat"], fields["lon"] = point
    # RFC 7946 features are identified by "id"; take it as the code if the properties lack one.
    identifier = feature.get("id")
    if fields.get("code") in _UNSET and isinstance(identifier, str | int):
        fields["code"] = identifier
    try:
        record = record_from_fields(fields)
    except RecordError as exc:
        problems.extend(exc.problems)
    return problems or record


def decode_geojson(data: bytes, mapping: Mapping[str, str | None] | None = None) -> Decoded:
    """Decode an inventory GeoJSON file: a FeatureCollection (or one Feature) of Points.

    Each feature's coordinates ``[lon, lat]`` (or ``[lon, lat, altitude]``) give the asset's
    position and its properties the other columns, named as in CSV (case-insensitively, and
    renamed or dropped by ``mapping``). A ``lat`` or ``lon`` property must agree with the
    geometry. A feature without a ``code`` property takes its ``id`` as the code.

    Args:
        data: The file's bytes (UTF-8 JSON).
        mapping: Source property name to canonical column, or None to drop the property.

    Returns:
        The records, each with its 1-based feature number, and the errors: of the whole file,
        or of single features (``RowError(number, reason, "feature")``).
    """
    try:
        document = orjson.loads(data.removeprefix(codecs.BOM_UTF8))
    except orjson.JSONDecodeError as exc:
        reason = f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        return Decoded([], [RowError(0, reason, "file")])
    features = _features(document)
    if isinstance(features, RowError):
        return Decoded([], [features])
    names = _PropertyNames(mapping)
    records: list[tuple[int, AssetRecord]] = []
    errors: list[RowError] = []
    for number, feature in enumerate(features, start=1):
        result = _feature(feature, names, number)
        if isinstance(result, list):
            errors.extend(RowError(number, problem, "feature") for problem in result)
        else:
            records.append((number, result))
    if names.unknown:
        unknown = ", ".join(f"{name!r} (feature {first})" for name, first in names.unknown.items())
        reason = (
            f"unknown properties: {unknown}; rename each to an inventory column with"
            " --map NAME=COLUMN or drop it with --map NAME=-"
            f" (the columns are {', '.join(COLUMNS)})"
        )
        errors.insert(0, RowError(0, reason, "file"))
    return Decoded(records, errors)


def _feature_json(record: AssetRecord) -> bytes:
    return orjson.dumps(
        {
            "type": "Feature",
            "id": record.code,
            "geometry": {
                "type": "Point",
                "coordinates": [
                    round(record.lon, COORDINATE_DECIMALS),
                    round(record.lat, COORDINATE_DECIMALS),
                ],
            },
            "properties": record_to_properties(record),
        }
    )


def encode_geojson(
    records: Iterable[AssetRecord], *, foreign_members: Mapping[str, object] | None = None
) -> Iterator[bytes]:
    """Encode records as an RFC 7946 FeatureCollection, streamed in chunks.

    Each record is a Point feature with ``id`` set to its code, coordinates ``[lon, lat]``
    rounded to seven decimals (about 1 cm) and the other columns as properties.

    Args:
        records: The records, in the order to write them.
        foreign_members: Extra top-level members, such as ``{"name": "Springfield"}``.

    Returns:
        An iterator of byte chunks that together form the document.

    Raises:
        ValueError: If a foreign member would replace ``type`` or ``features``.
        TypeError: If a foreign member cannot be written as JSON.
    """
    members = dict(foreign_members or {})
    clash = sorted({"type", "features"} & members.keys())
    if clash:
        raise ValueError(f"foreign members cannot replace {', '.join(clash)}")
    # Written now, so that a member that is not JSON fails here rather than mid-stream.
    head = orjson.dumps({"type": "FeatureCollection", **members})[:-1] + b',"features":['
    return _chunks(head, records)


def _chunks(head: bytes, records: Iterable[AssetRecord]) -> Iterator[bytes]:
    yield head
    parts: list[bytes] = []
    size = 0
    separator = b""  # goes before every chunk of features but the first
    for record in records:
        feature = _feature_json(record)
        parts.append(feature)
        size += len(feature)
        if size >= CHUNK_BYTES:
            yield separator + b",".join(parts)
            separator, parts, size = b",", [], 0
    yield (separator + b",".join(parts) if parts else b"") + b"]}\n"
