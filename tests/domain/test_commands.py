"""Commands from plain values: arguments, backoff, the wire format and how an answer is judged."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from signalight.domain.command_batches import BatchProgress, Target, TargetKind
from signalight.domain.commands import (
    MAX_ACK_BYTES,
    AckStatus,
    Command,
    CommandKind,
    CommandState,
    Ending,
    RetryPolicy,
    StrayReason,
    WireAck,
    check_args,
    check_expiry,
    decode_ack,
    encode_ack,
    encode_down,
    judge_ack,
    new_command_id,
)
from signalight.domain.errors import InvalidInputError

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
CITY = 7


def _command(**overrides: object) -> Command:
    values: dict[str, object] = {
        "id": new_command_id(),
        "city_id": CITY,
        "device_uid": "N-1",
        "kind": CommandKind.DIM,
        "args": {"level": 40},
        "requested_by": "ana",
        "created_at": NOW,
        "expires_at": NOW + timedelta(hours=1),
    }
    values.update(overrides)
    return Command(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "args", "expected"),
    [
        (CommandKind.SWITCH, {"on": False}, {"on": False}),
        (CommandKind.DIM, {"level": 0}, {"level": 0}),
        (CommandKind.DIM, {"level": 62.5}, {"level": 62.5}),
        (CommandKind.READ, {}, {}),
        (CommandKind.CLOCK, {}, {}),
        (
            CommandKind.PROFILE,
            {"profile": {"steps": [[0, 100]]}},
            {"profile": {"steps": [[0, 100]]}},
        ),
        (
            CommandKind.OVERRIDE,
            {"level": 100, "until": int(NOW.timestamp()) + 3600},
            {"level": 100, "until": int(NOW.timestamp()) + 3600},
        ),
    ],
)
def test_good_arguments_pass(kind: CommandKind, args: dict[str, object], expected: object) -> None:
    assert check_args(kind, args, NOW) == expected


@pytest.mark.parametrize(
    ("kind", "args", "words"),
    [
        (CommandKind.SWITCH, {"on": 1}, "args.on"),
        (CommandKind.SWITCH, {}, "args.on"),
        (CommandKind.DIM, {"level": 101}, "args.level"),
        (CommandKind.DIM, {"level": True}, "args.level"),
        (CommandKind.DIM, {"level": float("nan")}, "args.level"),
        (CommandKind.DIM, {"level": 5, "fade": 2}, "unknown args fade"),
        (CommandKind.READ, {"x": 1}, "unknown args x"),
        (CommandKind.PROFILE, {"profile": []}, "JSON object"),
        (CommandKind.PROFILE, {"profile": {"x": "y" * 4000}}, "the limit is"),
        (CommandKind.OVERRIDE, {"on": True}, "args.until"),
        (CommandKind.OVERRIDE, {"on": True, "level": 3, "until": 1}, "one of them"),
        (CommandKind.OVERRIDE, {"on": True, "until": int(NOW.timestamp()) - 1}, "after now"),
        (CommandKind.OVERRIDE, {"on": True, "until": int(NOW.timestamp()) + 8 * 86400}, "7 days"),
    ],
)
def test_bad_arguments_are_refused_by_name(
    kind: CommandKind, args: dict[str, object], words: str
) -> None:
    with pytest.raises(InvalidInputError, match=words):
        check_args(kind, args, NOW)


def test_expiry_must_be_ahead_and_within_the_session_lifetime() -> None:
    assert check_expiry(NOW + timedelta(days=14), NOW) == NOW + timedelta(days=14)
    for bad in (NOW, NOW + timedelta(days=15)):
        with pytest.raises(InvalidInputError, match="expires_at"):
            check_expiry(bad, NOW)
    with pytest.raises(InvalidInputError, match="zone"):
        check_expiry(datetime(2026, 3, 2), NOW)  # noqa: DTZ001 - the point of the test


def test_backoff_doubles_up_to_its_cap_and_never_past_the_expiry() -> None:
    policy = RetryPolicy(first_s=30, factor=2, max_s=300)
    assert [policy.delay(n).total_seconds() for n in (1, 2, 3, 4, 5, 9)] == [
        30, 60, 120, 240, 300, 300,
    ]  # fmt: skip
    command = _command(expires_at=NOW + timedelta(seconds=80))
    once = command.sent(NOW, policy)
    assert (once.state, once.attempts, once.next_at) == (
        CommandState.SENT, 1, NOW + timedelta(seconds=30),
    )  # fmt: skip
    twice = once.sent(NOW + timedelta(seconds=30), policy)
    assert twice.attempts == 2
    assert twice.next_at == command.expires_at  # 60 s would pass the expiry
    assert twice.id == command.id  # a resend is the same command


def test_the_down_message_carries_id_kind_args_expiry_and_time() -> None:
    command = _command()
    body = orjson.loads(encode_down(command, NOW))
    assert body == {
        "id": command.id,
        "kind": "dim",
        "args": {"level": 40},
        "exp": int(command.expires_at.timestamp()),
        "t": int(NOW.timestamp()),
    }


def test_answers_round_trip_and_bad_ones_are_refused() -> None:
    assert decode_ack(encode_ack("abc", AckStatus.REJECTED, "expired")) == WireAck(
        "abc", AckStatus.REJECTED, "expired"
    )
    assert decode_ack(b'{"id":"abc","status":"ok"}') == WireAck("abc", AckStatus.OK)
    for bad, words in [
        (b"not json", "not JSON"),
        (b"[1]", "JSON object"),
        (b'{"status":"ok"}', "no command id"),
        (b'{"id":"a","status":"done"}', "status"),
        (b'{"id":"a","status":"ok","reason":5}', "reason"),
        (b'{"id":"a","status":"ok","reason":"' + b"x" * MAX_ACK_BYTES + b'"}', "limit"),
    ]:
        with pytest.raises(InvalidInputError, match=words):
            decode_ack(bad)


def test_only_the_devices_own_first_timely_answer_ends_a_command() -> None:
    command = _command().sent(NOW, RetryPolicy())
    ok = WireAck(command.id, AckStatus.OK)
    soon = NOW + timedelta(seconds=5)
    assert judge_ack(None, CITY, "N-1", ok, soon) is StrayReason.UNKNOWN_ID
    assert judge_ack(command, CITY, "N-2", ok, soon) is StrayReason.WRONG_DEVICE
    assert judge_ack(command, CITY + 1, "N-1", ok, soon) is StrayReason.WRONG_DEVICE
    late = command.expires_at + timedelta(seconds=1)
    assert judge_ack(command, CITY, "N-1", ok, late) is StrayReason.LATE
    assert judge_ack(command.expired(late), CITY, "N-1", ok, late) is StrayReason.LATE
    done = judge_ack(command, CITY, "N-1", ok, soon)
    assert isinstance(done, Ending)
    assert (done.state, done.ack_status, done.done_at) == (
        CommandState.ACKNOWLEDGED, AckStatus.OK, soon,
    )  # fmt: skip
    assert judge_ack(done, CITY, "N-1", ok, soon) is StrayReason.DUPLICATE
    refused = judge_ack(command, CITY, "N-1", WireAck(command.id, AckStatus.ERROR, "relay"), soon)
    assert isinstance(refused, Ending)
    assert (refused.state, refused.reason) == (CommandState.FAILED, "relay")


def test_an_unanswered_command_expires_with_the_reason() -> None:
    command = _command()
    assert command.expired(NOW).reason == "never sent"
    sent = replace(command, attempts=3)
    assert sent.expired(NOW).reason == "no acknowledgement before the expiry"
    assert not sent.expired(NOW).is_open


def test_targets_and_progress() -> None:
    assert Target(TargetKind.CABINET, ("C-1",)).describe() == "cabinet C-1"
    assert Target(TargetKind.ASSETS, ("A", "B")).describe() == "2 assets"
    assert Target(TargetKind.CITY).describe() == "the whole city"
    with pytest.raises(InvalidInputError):
        Target(TargetKind.GROUP, ())
    with pytest.raises(InvalidInputError):
        Target(TargetKind.CITY, ("x",))
    progress = BatchProgress({CommandState.SENT: 2, CommandState.ACKNOWLEDGED: 3})
    assert (progress.total, progress.open, progress.done) == (5, 2, False)
    assert progress.as_dict()["expired"] == 0
    assert BatchProgress({CommandState.FAILED: 1}).done
