"""A profile's JSON: round trips, and refusals that name the field."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest

from signalight.codecs.profiles import profile_from_json, profile_to_json
from signalight.domain.errors import InvalidInputError
from signalight.domain.schedules import Anchor, ClockWindow, Step
from tests.services.schedule_rig import EXAMPLE


def test_the_example_round_trips() -> None:
    doc = dict(EXAMPLE, off_windows=[{"from": "01:00", "until": "05:00"}])
    profile = profile_from_json(doc)
    assert profile.steps[0] == Step(Anchor.SUNSET, 100.0, offset_min=5)
    assert profile.steps[1] == Step(Anchor.CLOCK, 60.0, at=time(23))
    assert profile.off_windows == (ClockWindow(time(1), time(5)),)
    assert profile_to_json(profile) == doc
    assert profile_from_json(profile_to_json(profile)) == profile


def test_an_offset_may_be_left_out_and_levels_may_be_fractions() -> None:
    doc: dict[str, Any] = {
        "name": "n",
        "steps": [{"anchor": "dusk", "level": 62.5}, {"anchor": "dawn", "level": 0}],
    }
    profile = profile_from_json(doc)
    assert profile_to_json(profile)["steps"][0] == {
        "anchor": "dusk",
        "offset_min": 0,
        "level": 62.5,
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"steps": "x"}, "steps: a list"),
        ({"name": 3}, "name:"),
        ({"colour": "red"}, "unknown field"),
        ({"steps": [{"anchor": "moonrise", "level": 1}]}, r"steps\[0\].anchor: one of sunset"),
        ({"steps": [{"anchor": "clock", "at": "25:00", "level": 1}]}, r"steps\[0\].at: .*HH:MM"),
        ({"steps": [{"anchor": "sunset", "at": "20:00", "level": 1}]}, "unknown field"),
        ({"steps": [{"anchor": "sunset", "offset_min": 1.5, "level": 1}]}, "whole minutes"),
        ({"steps": [{"anchor": "sunset", "level": True}]}, r"steps\[0\].level"),
        ({"steps": [{"anchor": "sunset", "level": 120}]}, "between 0 and 100"),
        ({"off_windows": [{"from": "01:00"}]}, r"off_windows\[0\].until"),
        ({"steps": EXAMPLE["steps"][:1]}, "2 to 24 steps"),
        ({"steps": list(reversed(EXAMPLE["steps"]))}, "first step switches the light on"),
    ],
)
def test_bad_documents_are_refused_with_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        profile_from_json(dict(EXAMPLE, **change))


def test_a_non_object_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="JSON object"):
        profile_from_json([1, 2])
