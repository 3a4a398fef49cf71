from __future__ import annotations

import pytest

from signalight.adapters.gazetteer import GeoNamesGazetteer
from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.errors import InvalidInputError, NotFoundError
from signalight.services.cities import CityRequest, add_city
from tests.conftest import unique


@pytest.fixture(scope="module")
def gazetteer() -> GeoNamesGazetteer:
    return GeoNamesGazetteer()


def test_seberang_perai_is_found_offline(gazetteer: GeoNamesGazetteer) -> None:
    place = gazetteer.lookup("Seberang Perai", "MY")
    # GeoNames knows the district by an alternate name of a town inside it.
    assert 5.1 < place.lat < 5.6
    assert 100.3 < place.lon < 100.6
    assert place.timezone == "Asia/Kuala_Lumpur"
    assert place.currency == "MYR"


def test_lookup_prefers_the_exact_name_and_the_largest_place(gazetteer: GeoNamesGazetteer) -> None:
    assert gazetteer.lookup("Seoul").country == "KR"
    assert gazetteer.lookup("springfield", "US").population > 100_000
    with pytest.raises(NotFoundError):
        gazetteer.lookup("Springfield", "KR")


def test_add_city_fills_and_overrides(database: SqlDatabase, gazetteer: GeoNamesGazetteer) -> None:
    slug = unique("sp")
    added = add_city(
        CityRequest("Seberang Perai", "MY", slug=slug, tariff_per_kwh=0.45),
        database.cities,
        gazetteer,
    )
    assert added.matched is not None
    assert added.city.timezone == "Asia/Kuala_Lumpur"
    assert added.city.tariff_per_kwh == 0.45
    given = add_city(
        CityRequest("Harbour", "NZ", slug=unique("h"), lat=-41.29, lon=174.78),
        database.cities,
        gazetteer,
    )
    assert given.matched is None
    assert given.city.timezone == "Pacific/Auckland"  # from the centre given
    assert given.city.currency == "NZD"
    with pytest.raises(InvalidInputError, match="both lat and lon"):
        add_city(CityRequest("Half", "MY", lat=5.0), database.cities, gazetteer)
