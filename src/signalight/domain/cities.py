"""Cities: the tenants. Every other row in Signalight belongs to exactly one city."""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from signalight.domain.errors import InvalidInputError
from signalight.domain.geo import valid_point

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


def slugify(name: str) -> str:
    """A URL- and MQTT-topic-safe slug: ``"Seberang Perai"`` becomes ``"seberang-perai"``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:64].strip("-")


@dataclass(frozen=True, slots=True, kw_only=True)
class City:
    """A city as a tenant, with what its schedules and energy reports need."""

    slug: str
    name: str
    country: str  # ISO 3166-1 alpha-2
    timezone: str  # IANA name; schedules and pages use it, storage stays UTC
    lat: float
    lon: float
    currency: str  # ISO 4217
    # Tariff and grid factor have no trustworthy offline source, so they stay
    # unset until the city says; savings reports then show kWh only.
    tariff_per_kwh: float | None = None
    co2_kg_per_kwh: float | None = None
    id: int | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        validate_city(self)

    @property
    def pk(self) -> int:
        """The stored city's id (a city that was never stored has none)."""
        if self.id is None:
            raise ValueError(f"city {self.slug!r} is not stored yet")
        return self.id

    def with_changes(self, **changes: object) -> City:
        """A copy with some fields changed, validated again."""
        return replace(self, **changes)  # type: ignore[arg-type]


def validate_city(city: City) -> None:
    """Raise InvalidInputError naming the first field of ``city`` that is wrong."""
    if not SLUG_RE.match(city.slug):
        raise InvalidInputError(
            f"slug {city.slug!r} must be 1-64 lower-case letters, digits and inner hyphens"
        )
    if not city.name.strip() or len(city.name) > 200:  # noqa: PLR2004
        raise InvalidInputError("name must be 1-200 characters")
    if not COUNTRY_RE.match(city.country):
        raise InvalidInputError(f"country {city.country!r} must be an ISO 3166 alpha-2 code")
    if not CURRENCY_RE.match(city.currency):
        raise InvalidInputError(f"currency {city.currency!r} must be an ISO 4217 code")
    try:
        zoneinfo.ZoneInfo(city.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInputError(f"timezone {city.timezone!r} is not an IANA time zone") from exc
    if not valid_point(city.lat, city.lon):
        raise InvalidInputError(
            "centre must be a WGS84 latitude (-90..90) and longitude (-180..180)"
        )
    if city.tariff_per_kwh is not None and not 0 <= city.tariff_per_kwh < 100:  # noqa: PLR2004
        raise InvalidInputError("tariff per kWh must be between 0 and 100")
    if city.co2_kg_per_kwh is not None and not 0 <= city.co2_kg_per_kwh <= 2:  # noqa: PLR2004
        raise InvalidInputError("grid CO2 factor must be between 0 and 2 kg/kWh")


@dataclass(frozen=True, slots=True)
class Place:
    """What a gazetteer knows of a place: enough to set up a city."""

    name: str  # the gazetteer's name of the match, which may differ from the one asked
    country: str
    lat: float
    lon: float
    timezone: str
    currency: str
    population: int
