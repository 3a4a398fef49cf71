"""Webhook POSTs against a real HTTP server: signed, timed, refused where they must be."""

from __future__ import annotations

import socket
import time

import orjson
import pytest

from signalight.adapters.webhook import WebhookClient
from signalight.domain.notifications import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.receivers import webhook_receiver

SECRET = "whsec_test-secret"


def test_a_post_is_signed_over_timestamp_and_body() -> None:
    body = orjson.dumps({"type": "alarm.raised", "n": 1})
    client = WebhookClient(allow_private=True)
    try:
        with webhook_receiver() as receiver:
            receiver.secrets["/hook"] = SECRET
            outcome = client.post(receiver.url("/hook"), SECRET, body, "alarm.raised", 42)
    finally:
        client.close()
    assert outcome.ok
    assert outcome.code == 204
    [got] = receiver.received
    assert got.valid
    assert got.body == body
    assert got.event == "alarm.raised"
    assert got.delivery == 42
    assert got.headers["Content-Type"] == "application/json"
    timestamp = int(got.headers[TIMESTAMP_HEADER])
    assert abs(timestamp - time.time()) < 60
    assert got.headers[SIGNATURE_HEADER] == sign(SECRET, timestamp, body)


def test_a_wrong_secret_or_a_stale_timestamp_does_not_verify() -> None:
    body = b'{"a":1}'
    with webhook_receiver() as receiver:
        receiver.secrets["/hook"] = "another secret"
        stale = WebhookClient(allow_private=True, clock=lambda: time.time() - 3600)
        fresh = WebhookClient(allow_private=True)
        try:
            wrong = fresh.post(receiver.url("/hook"), SECRET, body, "alarm.raised", 1)
            receiver.secrets["/hook"] = SECRET
            old = stale.post(receiver.url("/hook"), SECRET, body, "alarm.raised", 2)
        finally:
            stale.close()
            fresh.close()
    assert (wrong.ok, wrong.code) == (False, 401)
    assert (old.ok, old.code) == (False, 401)
    assert old.error == "HTTP 401 Unauthorized"


def test_a_server_error_is_a_failed_outcome_with_its_status() -> None:
    client = WebhookClient(allow_private=True)
    try:
        with webhook_receiver() as receiver:
            receiver.secrets["/hook"] = SECRET
            receiver.fail_next = 1
            failed = client.post(receiver.url("/hook"), SECRET, b"{}", "alarm.raised", 1)
            then = client.post(receiver.url("/hook"), SECRET, b"{}", "alarm.raised", 1)
    finally:
        client.close()
    assert (failed.ok, failed.code, failed.error) == (False, 500, "HTTP 500 Internal Server Error")
    assert then.ok


def test_nobody_listening_and_no_answer_are_failures_not_exceptions() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.listen()  # accepts the connection but never answers
        client = WebhookClient(allow_private=True, timeout_s=0.5)
        try:
            silent = client.post(f"http://127.0.0.1:{port}/x", SECRET, b"{}", "alarm.raised", 1)
        finally:
            client.close()
    client = WebhookClient(allow_private=True, timeout_s=2)
    try:
        refused = client.post(f"http://127.0.0.1:{port}/x", SECRET, b"{}", "alarm.raised", 1)
    finally:
        client.close()
    assert not silent.ok
    assert silent.error == "no answer within 0.5 s"
    assert not refused.ok
    assert refused.code is None
    assert refused.error.startswith("ConnectError")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:9/hook",
    ],
)
def test_private_and_local_addresses_are_refused_unless_allowed(url: str) -> None:
    client = WebhookClient()
    try:
        outcome = client.post(url, SECRET, b"{}", "alarm.raised", 1)
    finally:
        client.close()
    assert not outcome.ok
    assert outcome.error.startswith("refused: the host has a private or local address")


def test_a_url_token_is_not_echoed_in_the_error() -> None:
    client = WebhookClient(allow_private=True, timeout_s=2)
    url = "http://127.0.0.1:9/services/T000/B000/very-secret-token"
    try:
        outcome = client.post(url, SECRET, b"{}", "alarm.raised", 1)
    finally:
        client.close()
    assert not outcome.ok
    assert "very-secret-token" not in outcome.error
