from __future__ import annotations

import importlib

import pytest

SURFACE = {
    "signalight.codecs.csv_cells": {"FORMULA_STARTS", "escape_cell", "unescape_cell"},
    "signalight.codecs.inventory_fields": {
        "COLUMNS",
        "COORDINATE_DECIMALS",
        "REQUIRED_COLUMNS",
        "Decoded",
        "RecordError",
        "RowError",
        "field_value",
        "parse_mapping",
        "record_from_fields",
        "record_to_fields",
        "record_to_properties",
    },
    "signalight.codecs.inventory_csv": {"decode_csv", "encode_csv", "iter_decode_csv"},
    "signalight.codecs.inventory_geojson": {"decode_geojson", "encode_geojson"},
}


@pytest.mark.parametrize(("name", "expected"), SURFACE.items())
def test_public_surface(name: str, expected: set[str]) -> None:
    module = importlib.import_module(name)
    assert set(module.__all__) == expected
    assert all(hasattr(module, attribute) for attribute in expected)
