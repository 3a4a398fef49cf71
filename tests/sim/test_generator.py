from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from datetime import date, timedelta
from itertools import pairwise

import pytest

from signalight.domain.assets import (
    AssetKind,
    AssetRecord,
    LuminaireType,
    StreetClass,
    record_problems,
)
from signalight.domain.cities import City
from signalight.domain.errors import InvalidInputError
from signalight.domain.geo import EARTH_RADIUS_M, distance_m
from signalight.sim import generator
from signalight.sim.generator import Fleet, Street, generate_fleet
from signalight.sim.streets import POLE_LAYOUT, REACH

CITY = City(
    slug="test-city",
    name="Test",
    country="MY",
    timezone="Asia/Kuala_Lumpur",
    lat=5.38,
    lon=100.40,
    currency="MYR",
)
TODAY = date(2026, 1, 15)
MAJOR = {StreetClass.MOTORWAY, StreetClass.ARTERIAL, StreetClass.COLLECTOR}
VENDORS = {"Econolite", "Q-Free", "Siemens", "Cubic Trafficware", "McCain"}
XY = tuple[float, float]


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    # The demo defaults: 20,000 lights and 150 signalised intersections.
    return generate_fleet(CITY, today=TODAY)


def of_kind(fleet: Fleet, kind: AssetKind) -> list[AssetRecord]:
    return [r for r in fleet.records if r.kind is kind]


def xy(lat: float, lon: float) -> XY:
    """Metres east and north of the test city's centre (equirectangular)."""
    east = math.radians(lon - CITY.lon) * EARTH_RADIUS_M * math.cos(math.radians(CITY.lat))
    return east, math.radians(lat - CITY.lat) * EARTH_RADIUS_M


def project(point: XY, line: list[XY]) -> tuple[float, float, float]:
    """(distance to the line, distance along it, which side: -1 left or +1 right)."""
    best = (math.inf, 0.0, 0.0)
    walked = 0.0
    for (x0, y0), (x1, y1) in pairwise(line):
        dx, dy = x1 - x0, y1 - y0
        length = math.hypot(dx, dy)
        if length == 0:
            continue
        t = max(0.0, min(1.0, ((point[0] - x0) * dx + (point[1] - y0) * dy) / length**2))
        off = math.hypot(point[0] - x0 - dx * t, point[1] - y0 - dy * t)
        if off < best[0]:
            cross = dx * (point[1] - y0) - dy * (point[0] - x0)
            best = (off, walked + t * length, -1.0 if cross > 0 else 1.0)
        walked += length
    return best


def street_xy(street: Street) -> list[XY]:
    return [xy(lat, lon) for lat, lon in street.points]


def test_counts_are_exact(fleet: Fleet) -> None:
    assert len(of_kind(fleet, AssetKind.STREETLIGHT)) == 20_000
    assert len(of_kind(fleet, AssetKind.INTERSECTION)) == 150
    assert 20_000 / 60 <= len(of_kind(fleet, AssetKind.CABINET)) <= 20_000 / 20


def test_records_are_cabinets_then_lights_then_intersections(fleet: Fleet) -> None:
    order = [AssetKind.CABINET, AssetKind.STREETLIGHT, AssetKind.INTERSECTION]
    kinds = [r.kind for r in fleet.records]
    assert kinds == sorted(kinds, key=order.index)


def test_every_record_is_valid(fleet: Fleet) -> None:
    assert [(r.code, record_problems(r)) for r in fleet.records if record_problems(r)] == []


def test_codes_and_devices_are_unique_and_well_formed(fleet: Fleet) -> None:
    codes = [r.code for r in fleet.records]
    devices = [r.device for r in fleet.records if r.device is not None]
    assert len(set(codes)) == len(codes)
    assert len(set(devices)) == len(devices)
    patterns = {
        AssetKind.STREETLIGHT: (r"SL-\d{6}", r"n-\d{6}"),
        AssetKind.CABINET: (r"CB-\d{4}", r"m-\d{4}"),
        AssetKind.INTERSECTION: (r"TS-\d{3}", r"s-\d{3}"),
    }
    for record in fleet.records:
        code, device = patterns[record.kind]
        assert re.fullmatch(code, record.code), record.code
        assert record.device is None or re.fullmatch(device, record.device), record.device


def test_most_lights_have_a_node_with_firmware(fleet: Fleet) -> None:
    lights = of_kind(fleet, AssetKind.STREETLIGHT)
    bound = [r for r in lights if r.device is not None]
    assert 0.95 < len(bound) / len(lights) < 0.99
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", r.device_firmware) for r in bound)
    assert all(r.device_firmware == "" for r in lights if r.device is None)
    assert all(r.device is not None for r in fleet.records if r.kind is not AssetKind.STREETLIGHT)


def test_every_cabinet_feeds_20_to_60_lights(fleet: Fleet) -> None:
    cabinets = {r.code for r in of_kind(fleet, AssetKind.CABINET)}
    fed = Counter(r.cabinet for r in of_kind(fleet, AssetKind.STREETLIGHT))
    assert set(fed) == cabinets
    assert all(20 <= n <= 60 for n in fed.values()), sorted(fed.values())[:3]
    assert all(r.cabinet is None for r in fleet.records if r.kind is not AssetKind.STREETLIGHT)


def test_lights_are_near_their_cabinet(fleet: Fleet) -> None:
    cabinets = {r.code: r for r in of_kind(fleet, AssetKind.CABINET)}
    farthest = max(
        distance_m(r.lat, r.lon, cabinets[r.cabinet].lat, cabinets[r.cabinet].lon)
        for r in of_kind(fleet, AssetKind.STREETLIGHT)
        if r.cabinet is not None
    )
    assert farthest < 1_500


def test_a_cabinet_feeds_runs_of_consecutive_poles(fleet: Fleet) -> None:
    # Lights are numbered along their street ("<street> #n"); a cabinet's lights on
    # one street should be an unbroken run. A ring road's seam, or a street that
    # leaves a cabinet's patch and comes back, may break a few.
    numbers: defaultdict[tuple[str | None, str], list[int]] = defaultdict(list)
    for light in of_kind(fleet, AssetKind.STREETLIGHT):
        assert light.name.startswith(f"{light.street} #")
        numbers[light.cabinet, light.street].append(int(light.name.rsplit("#", 1)[1]))
    unbroken = [max(ns) - min(ns) + 1 == len(ns) for ns in numbers.values()]
    assert sum(unbroken) / len(unbroken) > 0.97


def test_cabinets_stand_beside_a_pole_they_feed(fleet: Fleet) -> None:
    first_light: dict[str | None, AssetRecord] = {}
    for light in of_kind(fleet, AssetKind.STREETLIGHT):
        first_light.setdefault(light.cabinet, light)
    for cabinet in of_kind(fleet, AssetKind.CABINET):
        pole = first_light[cabinet.code]
        assert distance_m(cabinet.lat, cabinet.lon, pole.lat, pole.lon) < 10
        assert cabinet.street == pole.street


def test_poles_stand_25_to_45_m_apart_by_street_class(fleet: Fleet) -> None:
    streets: defaultdict[str, list[list[XY]]] = defaultdict(list)
    for street in fleet.streets:
        streets[street.name].append(street_xy(street))
    # Each light on its nearest piece of its street, and on which kerb.
    rows: defaultdict[tuple[str, int, float], list[tuple[float, XY]]] = defaultdict(list)
    classes: dict[str, StreetClass] = {}
    for light in of_kind(fleet, AssetKind.STREETLIGHT):
        assert light.street_class is not None
        classes[light.street] = light.street_class
        point = xy(light.lat, light.lon)
        fits = [(project(point, line), n) for n, line in enumerate(streets[light.street])]
        (off, along, side), piece = min(fits)
        assert off < POLE_LAYOUT[light.street_class].setback_m + 2
        rows[light.street, piece, side].append((along, point))
    gaps: defaultdict[StreetClass, list[float]] = defaultdict(list)
    sides: defaultdict[str, set[float]] = defaultdict(set)
    for (name, _, side), row in rows.items():
        row.sort()
        sides[name].add(side)
        gaps[classes[name]].extend(math.dist(a, b) for (_, a), (_, b) in pairwise(row))
    for street_class, found in gaps.items():
        low, high = POLE_LAYOUT[street_class].spacing_m
        assert min(found) >= 20, (street_class, min(found))
        assert max(found) <= 50, (street_class, max(found))
        assert low - 1 <= statistics.mean(found) <= high + 1, street_class
    # Only motorways and arterials are lit from both kerbs.
    two_sided = {classes[name] for name, kerbs in sides.items() if len(kerbs) == 2}
    assert StreetClass.MOTORWAY in two_sided
    assert two_sided <= {StreetClass.MOTORWAY, StreetClass.ARTERIAL}


def test_the_network_has_every_street_class(fleet: Fleet) -> None:
    lights = Counter(r.street_class for r in of_kind(fleet, AssetKind.STREETLIGHT))
    assert set(lights) == set(StreetClass)
    # Estate streets carry the most lights, as in a real city.
    assert lights.most_common(1)[0][0] is StreetClass.LOCAL
    assert {s.street_class for s in fleet.streets} == set(StreetClass)
    assert all(len(s.points) >= 2 for s in fleet.streets)


def test_intersections_sit_where_two_major_streets_cross(fleet: Fleet) -> None:
    majors = [(s.name, street_xy(s)) for s in fleet.streets if s.street_class in MAJOR]
    signals = of_kind(fleet, AssetKind.INTERSECTION)
    for signal in signals:
        point = xy(signal.lat, signal.lon)
        near = {name for name, line in majors if project(point, line)[0] < 30}
        assert len(near) >= 2, signal.name
        assert signal.street in near
    for i, a in enumerate(signals):
        assert all(distance_m(a.lat, a.lon, b.lat, b.lon) > 80 for b in signals[i + 1 :])


def test_intersections_have_controllers(fleet: Fleet) -> None:
    signals = of_kind(fleet, AssetKind.INTERSECTION)
    assert len({r.controller_id for r in signals}) == len(signals)
    assert {r.controller_vendor for r in signals} <= VENDORS
    for signal in signals:
        assert signal.phases in {
            (2, 4, 6),
            (1, 2, 4, 6),
            (2, 4, 6, 8),
            (1, 2, 4, 5, 6, 8),
            (1, 2, 3, 4, 5, 6, 7, 8),
        }
        assert signal.street_class in {StreetClass.ARTERIAL, StreetClass.COLLECTOR}
        assert signal.cabinet is None


def test_luminaires_are_mid_way_through_an_led_retrofit(fleet: Fleet) -> None:
    lights = of_kind(fleet, AssetKind.STREETLIGHT)
    share = Counter(r.luminaire for r in lights)
    assert 0.45 < share[LuminaireType.LED] / len(lights) < 0.65
    assert 0.25 < share[LuminaireType.HPS] / len(lights) < 0.45
    assert share[LuminaireType.METAL_HALIDE] > 0
    assert share[LuminaireType.FLUORESCENT] > 0
    for light in lights:
        assert light.rated_watts is not None
        if light.luminaire is LuminaireType.LED:
            assert 30 <= light.rated_watts <= 150
        elif light.luminaire is LuminaireType.HPS:
            assert light.rated_watts in {70, 100, 150, 250, 400}


def test_dates_lie_in_the_last_25_years(fleet: Fleet) -> None:
    lights = of_kind(fleet, AssetKind.STREETLIGHT)
    oldest = TODAY - timedelta(days=round(25 * 365.25))
    for record in fleet.records:
        assert record.installed_on is not None
        assert oldest <= record.installed_on <= TODAY
    changed = [r for r in lights if r.lamp_changed_on is not None]
    assert 0.2 < len(changed) / len(lights) < 0.9
    for light in changed:
        assert light.installed_on is not None
        assert light.lamp_changed_on is not None
        assert light.installed_on <= light.lamp_changed_on <= TODAY


def test_everything_lies_within_30_km_of_the_centre(fleet: Fleet) -> None:
    points = [(r.lat, r.lon) for r in fleet.records]
    points += [p for street in fleet.streets for p in street.points]
    assert max(distance_m(CITY.lat, CITY.lon, lat, lon) for lat, lon in points) < 30_000


def test_the_same_seed_makes_the_same_fleet() -> None:
    first = generate_fleet(CITY, lights=2_000, intersections=20, seed=3, today=TODAY)
    again = generate_fleet(CITY, lights=2_000, intersections=20, seed=3, today=TODAY)
    other = generate_fleet(CITY, lights=2_000, intersections=20, seed=4, today=TODAY)
    assert first == again
    assert first.records != other.records
    assert [r.lat for r in first.records] != [r.lat for r in other.records]


@pytest.mark.parametrize(("lights", "intersections"), [(50, 2), (300, 5), (1, 0)])
def test_small_fleets_are_exact(lights: int, intersections: int) -> None:
    fleet = generate_fleet(CITY, lights=lights, intersections=intersections, today=TODAY)
    assert len(of_kind(fleet, AssetKind.STREETLIGHT)) == lights
    assert len(of_kind(fleet, AssetKind.INTERSECTION)) == intersections
    assert all(record_problems(r) == [] for r in fleet.records)
    fed = Counter(r.cabinet for r in of_kind(fleet, AssetKind.STREETLIGHT))
    assert set(fed) == {r.code for r in of_kind(fleet, AssetKind.CABINET)}
    if lights < 20:
        assert list(fed.values()) == [lights]
    else:
        assert all(20 <= n <= 60 for n in fed.values())


def test_no_lights_make_an_empty_fleet() -> None:
    assert generate_fleet(CITY, lights=0, intersections=0) == Fleet([], [])
    assert generate_fleet(CITY, lights=0) == Fleet([], [])


def test_negative_counts_are_refused() -> None:
    with pytest.raises(InvalidInputError):
        generate_fleet(CITY, lights=-1)
    with pytest.raises(InvalidInputError):
        generate_fleet(CITY, intersections=-1)


def test_progress_counts_up_to_the_lights_made() -> None:
    seen: list[int] = []
    generate_fleet(CITY, lights=2_500, intersections=0, today=TODAY, on_progress=seen.append)
    assert seen == sorted(seen)
    assert seen[-1] == 2_500
    assert len(seen) > 1


def test_a_city_past_its_largest_radius_is_packed_denser(monkeypatch: pytest.MonkeyPatch) -> None:
    # Stands in for a fleet of millions without taking minutes: the same sizing path.
    monkeypatch.setattr(generator, "MAX_RADIUS_M", 1_000.0)
    fleet = generate_fleet(CITY, lights=5_000, intersections=10, today=TODAY)
    assert len(of_kind(fleet, AssetKind.STREETLIGHT)) == 5_000
    reach = 1_000.0 * REACH * 1.02 + 50
    assert all(distance_m(CITY.lat, CITY.lon, r.lat, r.lon) < reach for r in fleet.records)


def test_street_names_follow_the_country() -> None:
    london = City(
        slug="london",
        name="London",
        country="GB",
        timezone="Europe/London",
        lat=51.5,
        lon=-0.12,
        currency="GBP",
    )
    english = generate_fleet(london, lights=500, intersections=0, today=TODAY)
    malay = generate_fleet(CITY, lights=500, intersections=0, today=TODAY)
    assert not any("Jalan" in s.name for s in english.streets)
    assert sum(s.name.startswith(("Jalan", "Lorong")) for s in malay.streets) > 0
    names = [(s.name, s.points[0]) for s in english.streets]
    assert len(set(names)) == len(names)
