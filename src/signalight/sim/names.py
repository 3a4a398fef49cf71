"""Street names for synthetic cities, unique within a city and in the local style."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class RoadKind(StrEnum):
    """What a road is in the network; each kind has its own naming habits."""

    MOTORWAY = "motorway"
    ARTERIAL = "arterial"
    RING = "ring"
    COLLECTOR = "collector"
    LOCAL = "local"
    PEDESTRIAN = "pedestrian"


@dataclass(frozen=True, slots=True)
class NamingStyle:
    """Name templates per road kind (``{w}`` a word, ``{n}`` a number) and their words."""

    templates: dict[RoadKind, tuple[str, ...]]
    words: tuple[str, ...]


# fmt: off
MALAY_WORDS = (
    "Mawar", "Melati", "Cempaka", "Kenanga", "Seroja", "Teratai", "Anggerik", "Dahlia",
    "Kemboja", "Tanjung", "Merbau", "Meranti", "Cengal", "Jati", "Nangka", "Durian", "Rambutan",
    "Manggis", "Pinang", "Kelapa", "Bakau", "Nipah", "Perdana", "Permai", "Indah", "Murni",
    "Bahagia", "Setia", "Harmoni", "Sentosa", "Bestari", "Damai", "Bayu", "Pelangi", "Mutiara",
    "Intan", "Delima", "Zamrud", "Nilam", "Baiduri", "Angsana", "Ketapang", "Sena", "Tembusu",
    "Kerisi", "Rengas", "Bakawali", "Kiambang",
)
ENGLISH_WORDS = (
    "Oak", "Maple", "Cedar", "Elm", "Birch", "Willow", "Aspen", "Alder", "Ash", "Beech",
    "Chestnut", "Hazel", "Holly", "Juniper", "Laurel", "Linden", "Magnolia", "Myrtle", "Poplar",
    "Rowan", "Spruce", "Sycamore", "Yew", "Acacia", "Banksia", "Wattle", "Jasmine", "Lavender",
    "Orchard", "Meadow", "Brook", "River", "Harbour", "Hill", "Station", "Market", "Mill",
    "Bridge", "Park", "Garden", "Church", "School", "Victoria", "Albert", "King", "Queen",
    "Princes", "Regent",
)
# fmt: on

# Malaysian, Bruneian and Indonesian streets are "Jalan ..." and numbered
# within a housing estate ("Jalan Mawar 3"), which is also what the demo city
# needs to look like.
MALAY = NamingStyle(
    templates={
        RoadKind.MOTORWAY: ("Lebuhraya {w}",),
        RoadKind.ARTERIAL: ("Jalan {w}", "Persiaran {w}", "Jalan Besar {w}"),
        RoadKind.RING: ("Lingkaran {w}",),
        RoadKind.COLLECTOR: ("Jalan {w}", "Jalan {w} Utama", "Lebuh {w}"),
        RoadKind.LOCAL: ("Jalan {w} {n}", "Lorong {w} {n}"),
        RoadKind.PEDESTRIAN: ("Laluan {w}",),
    },
    words=MALAY_WORDS,
)
ENGLISH = NamingStyle(
    templates={
        RoadKind.MOTORWAY: ("{w} Expressway", "{w} Freeway"),
        RoadKind.ARTERIAL: ("{w} Road", "{w} Avenue", "{w} Boulevard"),
        RoadKind.RING: ("{w} Ring Road",),
        RoadKind.COLLECTOR: ("{w} Street", "{w} Drive", "{w} Parade"),
        RoadKind.LOCAL: ("{w} Close", "{w} Lane", "{w} Court", "{w} Place", "{w} Grove"),
        RoadKind.PEDESTRIAN: ("{w} Walk",),
    },
    words=ENGLISH_WORDS,
)
MALAY_COUNTRIES = frozenset({"MY", "BN", "ID"})


class StreetNamer:
    """Hands out street names, never the same one twice in a city."""

    def __init__(self, country: str, rng: random.Random) -> None:
        self._style = MALAY if country in MALAY_COUNTRIES else ENGLISH
        self._words = list(self._style.words)
        rng.shuffle(self._words)
        self._rng = rng
        self._next_word = 0
        self._used: set[str] = set()

    def word(self) -> tuple[str, int]:
        """The next word of the shuffled vocabulary and how many times it has come round."""
        cycle, index = divmod(self._next_word, len(self._words))
        self._next_word += 1
        return self._words[index], cycle

    def name(self, kind: RoadKind) -> str:
        """A fresh name for a road of ``kind``."""
        template = self._rng.choice(self._style.templates[kind])
        return self._unique(template.format(w=self.word()[0]))

    def estate(self, count: int) -> list[str]:
        """Names for the ``count`` local streets of one housing estate.

        An estate shares one word: numbered ("Jalan Mawar 1, 2, 3") where the style
        numbers its streets, else with a different suffix each ("Oak Close, Oak Lane").
        """
        templates = self._style.templates[RoadKind.LOCAL]
        word, cycle = self.word()
        if "{n}" in templates[0]:
            # Large townships number a second estate of the same name "2/1, 2/2, ...".
            prefix = f"{cycle + 1}/" if cycle else ""
            template = self._rng.choice(templates)
            return [
                self._unique(template.format(w=word, n=f"{prefix}{n}")) for n in range(1, count + 1)
            ]
        return [self._unique(templates[n % len(templates)].format(w=word)) for n in range(count)]

    def _unique(self, base: str) -> str:
        name, repeat = base, 1
        while name in self._used:
            repeat += 1
            name = f"{base} {repeat}"
        self._used.add(name)
        return name
