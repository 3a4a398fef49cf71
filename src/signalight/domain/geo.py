"""Geographic values: points, bounding boxes and distances on the WGS84 sphere."""

from __future__ import annotations

import math
from dataclasses import dataclass

from signalight.domain.errors import InvalidInputError

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)


@dataclass(frozen=True, slots=True)
class BBox:
    """A longitude/latitude box in the GeoJSON order: west, south, east, north."""

    west: float
    south: float
    east: float
    north: float

    def __post_init__(self) -> None:
        if not (-180 <= self.west <= 180 and -180 <= self.east <= 180):  # noqa: PLR2004
            raise InvalidInputError("bbox longitudes must lie within -180..180")
        if not (-90 <= self.south <= 90 and -90 <= self.north <= 90):  # noqa: PLR2004
            raise InvalidInputError("bbox latitudes must lie within -90..90")
        if self.west > self.east or self.south > self.north:
            raise InvalidInputError(
                "bbox must be west,south,east,north with west<=east, south<=north"
            )

    @classmethod
    def parse(cls, text: str) -> BBox:
        """Parse ``"west,south,east,north"`` as the OGC API and GeoJSON write it."""
        parts = text.split(",")
        if len(parts) != 4:  # noqa: PLR2004
            raise InvalidInputError("bbox must be four numbers: west,south,east,north")
        try:
            west, south, east, north = (float(p) for p in parts)
        except ValueError as exc:
            raise InvalidInputError("bbox must be four numbers: west,south,east,north") from exc
        return cls(west, south, east, north)

    def contains(self, lat: float, lon: float) -> bool:
        """Whether the point lies inside the box (edges included)."""
        return self.south <= lat <= self.north and self.west <= lon <= self.east


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """The point ``north_m`` metres north and ``east_m`` metres east of (lat, lon).

    An equirectangular step: exact enough over the few tens of kilometres of a city.
    """
    dlat = math.degrees(north_m / EARTH_RADIUS_M)
    dlon = math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lat + dlat, lon + dlon


def valid_point(lat: float, lon: float) -> bool:
    """Whether (lat, lon) is a finite WGS84 coordinate."""
    return (
        math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180  # noqa: PLR2004
    )


def inner_box(centre: tuple[float, float], radius_m: float) -> BBox:
    """A box that lies wholly within ``radius_m`` of ``centre`` (a square inscribed in the circle).

    Near the poles or for radii beyond a few hundred kilometres it shrinks to
    the centre, so callers fall back to exact distances.
    """
    lat, lon = centre
    half = radius_m / math.sqrt(2) * 0.99  # a little inside, for the sphere's curvature
    north, east = offset(lat, lon, half, half)
    south, west = offset(lat, lon, -half, -half)
    if not (-90 < south < north < 90 and -180 < west < east < 180) or abs(lat) > 80:  # noqa: PLR2004
        return BBox(lon, lat, lon, lat)
    return BBox(west, south, east, north)
