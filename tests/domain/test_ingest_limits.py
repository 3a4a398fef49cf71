"""What ingest accepts of a device message is written once, in domain/telemetry.py."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from signalight.codecs import lorawan, senml
from signalight.domain.telemetry import DAY, MAX_FUTURE_S, MAX_MESSAGE_BYTES, MAX_PAST_S
from signalight.services.ingest import IngestLimits
from signalight.settings import Settings


def defaults(func: Callable[..., Any]) -> dict[str, Any]:
    return {
        name: parameter.default
        for name, parameter in inspect.signature(func).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }


def test_the_settings_default_to_the_domain_limits() -> None:
    fields = Settings.model_fields
    assert fields["ingest_max_bytes"].default == MAX_MESSAGE_BYTES
    assert fields["ingest_max_past_days"].default * DAY == MAX_PAST_S


def test_the_settings_give_the_past_limit_in_seconds() -> None:
    assert Settings(ingest_max_past_days=2.5).ingest_max_past_s == 2.5 * DAY


@pytest.mark.parametrize(
    "decode", [senml.decode_pack, lorawan.decode_chirpstack_up, lorawan.decode_tts_up]
)
def test_the_codecs_default_to_the_domain_time_limits(decode: Callable[..., Any]) -> None:
    given = defaults(decode)
    assert (given["max_past_s"], given["max_future_s"]) == (MAX_PAST_S, MAX_FUTURE_S)


def test_a_senml_pack_defaults_to_the_domain_size_limit() -> None:
    # LoRaWAN uplinks have a larger limit of their own (one rxInfo entry per gateway).
    assert defaults(senml.decode_pack)["max_bytes"] == MAX_MESSAGE_BYTES


def test_ingest_defaults_to_the_domain_limits() -> None:
    limits = IngestLimits()
    assert (limits.max_bytes, limits.max_past_s, limits.max_future_s) == (
        MAX_MESSAGE_BYTES,
        MAX_PAST_S,
        MAX_FUTURE_S,
    )
