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


@pytest.mark.parametrize(
    ("lat", "lon", "country"),
    [
        (4.60, 101.10, "MY"),  # Ipoh
        (1.47, 103.76, "MY"),  # Johor Bahru: Singapore's centre is 20 km away
        (1.30, 103.85, "SG"),  # Singapore, across the strait
        (48.58, 7.745, "FR"),  # Strasbourg
        # By a border, the nearest town may be across it: the time zone decides.
        (48.50, 7.80, "DE"),  # south of Kehl: Illkirch, in France, is nearer than Kehl
        (31.60, -106.41, "MX"),  # Ciudad Juárez: Socorro, Texas, is nearer than its centre
        (-41.29, 174.78, "NZ"),  # Wellington
    ],
)
def test_nearest_place_tells_the_country_of_a_point(
    gazetteer: GeoNamesGazetteer, lat: float, lon: float, country: str
) -> None:
    assert gazetteer.nearest(lat, lon).country == country


def test_a_point_far_from_any_place_has_no_country(gazetteer: GeoNamesGazetteer) -> None:
    with pytest.raises(NotFoundError, match="--country"):
        gazetteer.nearest(0.0, -140.0)  # the middle of the Pacific


def test_add_city_takes_the_country_of_the_centre_given(
    database: SqlDatabase, gazetteer: GeoNamesGazetteer
) -> None:
    added = add_city(
        CityRequest("Harbour", None, slug=unique("h"), lat=-41.29, lon=174.78),
        database.cities,
        gazetteer,
    )
    assert added.city.country == "NZ"
    assert added.city.currency == "NZD"
    assert added.city.timezone == "Pacific/Auckland"
    assert added.matched is None  # the centre was given
    assert added.country_from is not None
    assert "Wellington" in added.country_from
    with pytest.raises(NotFoundError, match="--country"):
        add_city(CityRequest("Atoll", lat=0.0, lon=-140.0), database.cities, gazetteer)
