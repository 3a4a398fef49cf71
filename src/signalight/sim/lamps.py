"""Luminaires and their dates for a city part-way through an LED retrofit."""

from __future__ import annotations

import random
from dataclasses import dataclass

from signalight.domain.assets import LuminaireType, StreetClass

YEAR = 365.25
HISTORY_YEARS = 25.0  # the oldest lighting still in the street
LED_YEARS = 7.0  # everything installed since then is LED, and retrofits happen within it
REPLACED = 0.05  # poles renewed since their street was lit (knock-downs, corrosion)
SPARE_WATTS = 0.05  # lights fitted with another wattage than the rest of their street
RELAMPED = 0.6  # discharge lamps whose lamp has been changed at least once
RELAMP_YEARS = {
    LuminaireType.HPS: 4.0,  # rated life about 24,000 h, so every four to five years
    LuminaireType.METAL_HALIDE: 3.0,
    LuminaireType.FLUORESCENT: 2.5,
}
# Retrofits start with the main roads, whose lights burn the most energy.
RETROFIT_CHANCE = {
    StreetClass.MOTORWAY: 0.7,
    StreetClass.ARTERIAL: 0.58,
    StreetClass.COLLECTOR: 0.48,
    StreetClass.LOCAL: 0.4,
    StreetClass.PEDESTRIAN: 0.48,
}
# The lamp technology of a street not yet retrofitted: (HPS, metal halide, fluorescent).
LEGACY_MIX = {
    StreetClass.MOTORWAY: (0.95, 0.05, 0.0),
    StreetClass.ARTERIAL: (0.85, 0.15, 0.0),
    StreetClass.COLLECTOR: (0.85, 0.1, 0.05),
    StreetClass.LOCAL: (0.75, 0.1, 0.15),
    StreetClass.PEDESTRIAN: (0.25, 0.4, 0.35),
}
LEGACY = (LuminaireType.HPS, LuminaireType.METAL_HALIDE, LuminaireType.FLUORESCENT)
# The wattages sold for each lamp technology, by the class of street they light.
WATTS: dict[LuminaireType, dict[StreetClass, tuple[float, ...]]] = {
    LuminaireType.LED: {
        StreetClass.MOTORWAY: (120.0, 150.0),
        StreetClass.ARTERIAL: (90.0, 120.0, 150.0),
        StreetClass.COLLECTOR: (60.0, 75.0, 90.0),
        StreetClass.LOCAL: (30.0, 40.0, 50.0, 60.0),
        StreetClass.PEDESTRIAN: (30.0, 40.0),
    },
    LuminaireType.HPS: {
        StreetClass.MOTORWAY: (250.0, 400.0),
        StreetClass.ARTERIAL: (150.0, 250.0),
        StreetClass.COLLECTOR: (100.0, 150.0),
        StreetClass.LOCAL: (70.0, 100.0),
        StreetClass.PEDESTRIAN: (70.0,),
    },
    LuminaireType.METAL_HALIDE: {
        StreetClass.MOTORWAY: (250.0, 400.0),
        StreetClass.ARTERIAL: (150.0, 250.0),
        StreetClass.COLLECTOR: (100.0, 150.0),
        StreetClass.LOCAL: (70.0, 100.0),
        StreetClass.PEDESTRIAN: (70.0, 100.0),
    },
    LuminaireType.FLUORESCENT: {
        StreetClass.MOTORWAY: (85.0,),
        StreetClass.ARTERIAL: (85.0,),
        StreetClass.COLLECTOR: (55.0, 85.0),
        StreetClass.LOCAL: (36.0, 55.0),
        StreetClass.PEDESTRIAN: (36.0, 55.0),
    },
}


@dataclass(frozen=True, slots=True)
class Lamp:
    """What one pole carries and when it was put there (dates as ordinals)."""

    luminaire: LuminaireType
    watts: float
    installed: int
    changed: int | None


@dataclass(frozen=True, slots=True)
class StreetLighting:
    """How one street was lit: the lighting of its poles varies around this."""

    street_class: StreetClass
    lit: int  # ordinal of the day the street was first lit
    retrofit: int | None  # ordinal of its LED retrofit, if it has had one
    legacy: LuminaireType
    led_watts: float
    legacy_watts: float

    @classmethod
    def draw(
        cls, street_class: StreetClass, key: float, today: int, rng: random.Random
    ) -> StreetLighting:
        """The lighting history of a street ``key`` of the way out from the centre.

        The city grew outwards, so central streets were lit long ago and new
        estates at the edge only lately.
        """
        age = HISTORY_YEARS * (1 - 0.8 * min(key, 1.0)) + rng.gauss(0.0, 3.0)
        lit = today - round(YEAR * min(HISTORY_YEARS, max(0.3, age)))
        led_since = today - round(YEAR * LED_YEARS)
        retrofit = None
        if lit < led_since and rng.random() < RETROFIT_CHANCE[street_class]:
            retrofit = rng.randint(led_since, today)
        legacy = rng.choices(LEGACY, LEGACY_MIX[street_class])[0]
        return cls(
            street_class,
            lit,
            retrofit,
            legacy,
            rng.choice(WATTS[LuminaireType.LED][street_class]),
            rng.choice(WATTS[legacy][street_class]),
        )

    def lamp(self, today: int, rng: random.Random) -> Lamp:
        """The luminaire of one pole on this street."""
        led_since = today - round(YEAR * LED_YEARS)
        if rng.random() < REPLACED:
            installed = _day(rng, self.lit, today)
        else:
            installed = min(today, _day(rng, self.lit, self.lit + 120))  # lit over months
        if installed >= led_since or self.retrofit is not None:
            luminaire, watts = LuminaireType.LED, self.led_watts
            changed = None if installed >= led_since else self.retrofit
        else:
            luminaire, watts = self.legacy, self.legacy_watts
            changed = None
            if rng.random() < RELAMPED:
                since = today - round(YEAR * RELAMP_YEARS[luminaire])
                changed = _day(rng, max(installed, since), today)
        if rng.random() < SPARE_WATTS:
            watts = rng.choice(WATTS[luminaire][self.street_class])
        return Lamp(luminaire, watts, installed, changed)


def _day(rng: random.Random, first: int, last: int) -> int:
    """A day from ``first`` to ``last`` inclusive; ``randint`` is several times slower."""
    return first + int(rng.random() * (last - first + 1))
