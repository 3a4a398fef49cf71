from __future__ import annotations

import pytest

from signalight.domain.cities import City, slugify
from signalight.domain.errors import InvalidInputError

GOOD = {
    "slug": "seberang-perai",
    "name": "Seberang Perai",
    "country": "MY",
    "timezone": "Asia/Kuala_Lumpur",
    "lat": 5.4,
    "lon": 100.4,
    "currency": "MYR",
}


def test_slugify_folds_accents_and_spaces() -> None:
    assert slugify("Seberang Perai") == "seberang-perai"
    assert slugify("  Gießen / Hessen ") == "gieen-hessen"
    assert slugify("São Paulo") == "sao-paulo"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("slug", "Bad Slug", "slug"),
        ("slug", "-edge", "slug"),
        ("country", "MYS", "country"),
        ("currency", "ringgit", "currency"),
        ("timezone", "Mars/Olympus", "timezone"),
        ("lat", 91.0, "centre"),
        ("lon", float("nan"), "centre"),
        ("tariff_per_kwh", -1.0, "tariff"),
        ("co2_kg_per_kwh", 5.0, "CO2"),
        ("name", "  ", "name"),
    ],
)
def test_invalid_city_field_is_named(field: str, value: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        City(**{**GOOD, field: value})  # type: ignore[arg-type]


def test_pk_of_an_unstored_city_is_an_error() -> None:
    city = City(**GOOD)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not stored"):
        _ = city.pk
    assert city.with_changes(id=7).pk == 7
