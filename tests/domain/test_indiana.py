from __future__ import annotations

import re
from pathlib import Path

import pytest

from signalight.domain.indiana import INDIANA_EVENTS, describe_event

ENUMERATIONS = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "atspm_samples"
    / "indiana_enumerations.md"
)


def test_real_meanings() -> None:
    assert INDIANA_EVENTS[1].name == "Phase Begin Green"
    assert INDIANA_EVENTS[82].name == "Vehicle Detector On"
    assert INDIANA_EVENTS[82].parameter == "detector"
    assert INDIANA_EVENTS[173].name == "Unit Flash Status Change"
    assert INDIANA_EVENTS[218].name == "Split 32 Change"
    assert 183 not in INDIANA_EVENTS  # neither the 2020 spec nor ATSPM defines it


@pytest.mark.parametrize(
    ("code", "param", "words"),
    [
        (1, 2, "phase 2 green"),
        (82, 5, "detector 5 on"),
        (87, 64, "detector 64 shorted loop"),
        (173, 6, "unit flash status: MMU flash"),
        (173, 2, "unit flash status: not flashing"),
        (173, 99, "unit flash status: value 99"),
        (174, 0b0011_0000, "unit alarms: MMU flash, local flash"),
        (175, 0, "alarm inputs active: none"),
        (175, 0b101, "alarm inputs active: input 1, input 3"),
        (150, 0, "coordination free"),
        (180, 1, "stop time on"),
        (182, 1, "power failure"),
        (134, 25, "split 1: 25 s"),
        (203, 30, "split 17: 30 s"),
        (412, 3, "vendor event 412, parameter 3"),
        (183, 1, "undefined event 183, parameter 1"),
    ],
)
def test_events_in_words(code: int, param: int, words: str) -> None:
    assert describe_event(code, param) == words


def test_every_code_of_the_enumeration_is_known_by_its_name() -> None:
    if not ENUMERATIONS.is_file():
        pytest.skip(f"the Indiana enumerations are not at {ENUMERATIONS}")
    rows = re.findall(r"^\| (\d+) \| ([^|]+?) \|", ENUMERATIONS.read_text(), re.MULTILINE)
    listed = {int(code): name for code, name in rows if "not defined" not in name}
    assert set(listed) == set(INDIANA_EVENTS)

    def plain(name: str) -> str:  # the table's markup, dashes and quotes aside
        name = name.replace("**[M]**", "").replace("\u2019", "'").replace("\u2013", "-")
        return re.sub(r"\s*-\s*", " - ", name).strip().lower()

    assert {code: plain(name) for code, name in listed.items()} == {
        code: plain(meaning.name) for code, meaning in INDIANA_EVENTS.items()
    }
