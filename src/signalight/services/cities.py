"""The network's cities: added (filled in from the offline gazetteer), read and changed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from signalight.domain.cities import City, slugify
from signalight.domain.errors import InvalidInputError
from signalight.ports import CityRepository, Gazetteer


@dataclass(frozen=True, slots=True)
class CityRequest:
    """What the caller says of a new city; None means 'look it up'."""

    name: str
    country: str | None = None
    slug: str | None = None
    lat: float | None = None
    lon: float | None = None
    timezone: str | None = None
    currency: str | None = None
    tariff_per_kwh: float | None = None
    co2_kg_per_kwh: float | None = None


@dataclass(frozen=True, slots=True)
class AddedCity:
    """The stored city and the gazetteer place its missing values came from, if any."""

    city: City
    matched: str | None
    country_from: str | None = None  # the place nearest the given centre, when no country was


def add_city(request: CityRequest, cities: CityRepository, gazetteer: Gazetteer) -> AddedCity:
    """Store a new city, filling what the request leaves out from the gazetteer.

    The centre comes from the gazetteer unless both lat and lon are given; the
    country from the match, or from the place nearest the given centre; the
    time zone from the match, or from the given centre; the currency from the
    country.

    Raises:
        InvalidInputError: only one of lat and lon is given.
        NotFoundError: the gazetteer knows no such place, or none near the given
            centre to tell its country.
    """
    matched = country_from = None
    lat, lon, timezone, country = request.lat, request.lon, request.timezone, request.country
    if (lat is None) != (lon is None):
        raise InvalidInputError("give both lat and lon, or neither")
    if lat is None or lon is None:
        place = gazetteer.lookup(request.name, country)
        matched = f"{place.name}, {place.country} ({place.lat:.4f}, {place.lon:.4f})"
        lat, lon = place.lat, place.lon
        country = country or place.country
        timezone = timezone or place.timezone
    if country is None:
        near = gazetteer.nearest(lat, lon)
        country = near.country
        country_from = f"{near.country} (the nearest place, {near.name})"
    country = country.upper()
    timezone = timezone or gazetteer.timezone_at(lat, lon)
    currency = (request.currency or gazetteer.currency(country)).upper()
    slug = request.slug or slugify(request.name)
    city = City(
        slug=slug,
        name=request.name.strip(),
        country=country,
        timezone=timezone,
        lat=lat,
        lon=lon,
        currency=currency,
        tariff_per_kwh=request.tariff_per_kwh,
        co2_kg_per_kwh=request.co2_kg_per_kwh,
    )
    return AddedCity(cities.add_city(city), matched, country_from)


class Cities:
    """The network's cities as the API and the CLI read and change them."""

    def __init__(self, repository: CityRepository, gazetteer: Callable[[], Gazetteer]) -> None:
        self._repository = repository
        self._gazetteer = gazetteer  # loaded on first use: it reads a large file

    def get(self, slug: str) -> City:
        """One city by its slug; NotFoundError if there is none."""
        return self._repository.get_city(slug)

    def all(self, ids: Sequence[int] | None = None) -> list[City]:
        """Every city (or those with these ids), by name."""
        return self._repository.list_cities(ids)

    def add(self, request: CityRequest) -> AddedCity:
        """Store a new city (see :func:`add_city`)."""
        return add_city(request, self._repository, self._gazetteer())

    def update(self, city: City) -> City:
        """Store a city's changed settings."""
        return self._repository.update_city(city)
