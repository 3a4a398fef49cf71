"""Devices' MQTT usernames and topics."""

from __future__ import annotations

import pytest

from signalight.domain.topics import INGEST_USER, Channel, device_topic, device_username


def test_username_and_topics() -> None:
    assert device_username("seberang-perai", "SL-00001") == "seberang-perai/SL-00001"
    assert [device_topic("ipoh", "n-1", channel) for channel in Channel] == [
        "signalight/ipoh/n-1/up",
        "signalight/ipoh/n-1/status",
        "signalight/ipoh/n-1/down",
        "signalight/ipoh/n-1/ack",
    ]
    # No device can be the ingest account: a device's username has a '/'.
    assert "/" not in INGEST_USER


@pytest.mark.parametrize(("slug", "uid"), [("ipoh", "a:b"), ("ipoh", "a+"), ("ipoh", "#"),
                                           ("ipoh", "a/b"), ("", "x"), ("ipoh", ""),
                                           ("ipoh", "a\tb"), ("ipoh", "a\nb")])  # fmt: skip
def test_parts_no_username_can_hold_are_refused(slug: str, uid: str) -> None:
    with pytest.raises(ValueError, match="MQTT username"):
        device_username(slug, uid)
