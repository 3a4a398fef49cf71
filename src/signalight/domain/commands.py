"""Commands to devices: kinds, states, pure transitions, backoff, and the wire format.

A command is one instruction to one device, known everywhere by its id (a
UUID, the same on every resend, so a device runs it at most once). It is
``queued`` when asked for, ``sent`` once published (and sent again with a
growing pause until its device answers), and ends ``acknowledged`` (the
device ran it), ``failed`` (the device answered error or rejected, or it
could not be sent at all) or ``expired`` (no answer before its expiry).

Only the device's own answer ends a command well: an acknowledgement is
matched by the command's id *and* the device whose topic it came on. Every
other answer (an unknown id, another device's, a second one, one after the
expiry, one that cannot be read) is a :class:`Stray`: counted and kept, and
never changes a command. The wire format is in ``docs/protocol.md``
(Commands).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import orjson

from signalight.domain.errors import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "MAX_ACK_BYTES",
    "MAX_DOWN_BYTES",
    "AckStatus",
    "Command",
    "CommandKind",
    "CommandState",
    "Due",
    "Ending",
    "RetryPolicy",
    "Sendable",
    "Standing",
    "Stray",
    "StrayReason",
    "WireAck",
    "check_args",
    "decode_ack",
    "encode_ack",
    "encode_down",
    "judge_ack",
    "new_command_id",
]

MAX_DOWN_BYTES: Final = 4096  # a command on `down`; devices keep a buffer this large
MAX_ACK_BYTES: Final = 1024  # an answer on `ack`; longer ones are strays (malformed)
MAX_PROFILE_BYTES: Final = 3072  # a profile's JSON, so that its command fits MAX_DOWN_BYTES
MAX_REASON: Final = 200  # characters of an answer's reason that are kept
MAX_EXPIRY: Final = timedelta(days=14)  # as long as the broker keeps a device's session
MAX_OVERRIDE: Final = timedelta(days=7)
DEFAULT_EXPIRY: Final = timedelta(hours=24)
EXPIRED_UNANSWERED: Final = "no acknowledgement before the expiry"
EXPIRED_UNSENT: Final = "never sent"


class CommandKind(StrEnum):
    """What a command asks the device to do (its ``args`` in ``docs/protocol.md``)."""

    SWITCH = "switch"  # {"on": true|false}
    DIM = "dim"  # {"level": 0..100}, percent of full power
    OVERRIDE = "override"  # {"on": bool} or {"level": n}, and "until" (epoch s): then back to plan
    READ = "read"  # {}: report all readings on `up` now
    CLOCK = "clock"  # {}: set the clock to the message's "t"
    PROFILE = "profile"  # {"profile": {...}}: the dimming profile to run on its own


class CommandState(StrEnum):
    """Where a command is in its life."""

    QUEUED = "queued"  # asked for; not yet published
    SENT = "sent"  # published at least once; waiting for the device's answer
    ACKNOWLEDGED = "acknowledged"  # the device answered ok: done
    FAILED = "failed"  # the device answered error or rejected, or it cannot be sent
    EXPIRED = "expired"  # no answer before the expiry: the device will not run it now


OPEN_STATES: Final = frozenset({CommandState.QUEUED, CommandState.SENT})


class AckStatus(StrEnum):
    """A device's answer to a command."""

    OK = "ok"  # ran it (or had run it: a repeated id is answered again, not run again)
    ERROR = "error"  # tried and failed (relay stuck, driver fault)
    REJECTED = "rejected"  # refused without trying (expired, unknown kind, bad args)


class StrayReason(StrEnum):
    """Why an answer changed no command."""

    UNKNOWN_ID = "unknown_id"  # no command has that id
    WRONG_DEVICE = "wrong_device"  # the command is another device's
    DUPLICATE = "duplicate"  # the command was answered already
    LATE = "late"  # it came after the command's expiry
    MALFORMED = "malformed"  # not an answer this protocol reads


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When an unanswered command is sent again: ``first_s``, then doubling, at most ``max_s``.

    The same id every time, so a device that got an earlier copy answers
    again without running it again.
    """

    first_s: float = 30.0
    factor: float = 2.0
    max_s: float = 3600.0

    def delay(self, attempts: int) -> timedelta:
        """The pause after the ``attempts``-th send (1 for the first)."""
        exponent = min(max(attempts - 1, 0), 60)
        return timedelta(seconds=min(self.max_s, self.first_s * self.factor**exponent))


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """One command to one device, as stored."""

    id: str  # a UUID in its canonical text form: the id on the wire
    city_id: int
    device_uid: str
    kind: CommandKind
    args: Mapping[str, Any]
    requested_by: str  # a username, or cli:<os user>
    created_at: datetime
    expires_at: datetime
    state: CommandState = CommandState.QUEUED
    batch_id: int | None = None
    asset_code: str | None = None
    attempts: int = 0  # times published
    next_at: datetime | None = None  # when it is due to be published (again); None once ended
    sent_at: datetime | None = None  # the latest publication
    done_at: datetime | None = None  # when it ended
    ack_status: AckStatus | None = None
    reason: str = ""  # the device's reason, or why it failed or expired
    stray_acks: int = 0  # answers naming this id that changed nothing

    @property
    def is_open(self) -> bool:
        """Still waiting: queued or sent."""
        return self.state in OPEN_STATES

    def sent(self, now: datetime, policy: RetryPolicy) -> Command:
        """This command published once more at ``now``; due again after the backoff."""
        attempts = self.attempts + 1
        return replace(
            self,
            state=CommandState.SENT,
            attempts=attempts,
            sent_at=now,
            next_at=min(now + policy.delay(attempts), self.expires_at),
        )

    def expired(self, now: datetime) -> Command:
        """This command ended unanswered at its expiry."""
        why = EXPIRED_UNANSWERED if self.attempts else EXPIRED_UNSENT
        return replace(self, state=CommandState.EXPIRED, next_at=None, done_at=now, reason=why)


@dataclass(frozen=True, slots=True, kw_only=True)
class Due:
    """A waiting command as the dispatcher reads it: only what sending it needs."""

    id: str
    city_id: int
    device_uid: str
    kind: CommandKind
    args: Mapping[str, Any]
    expires_at: datetime
    attempts: int


# What the wire encoders take: a command, or the dispatcher's lighter view of one.
Sendable: TypeAlias = Command | Due


def new_command_id() -> str:
    """A fresh command id: a random UUID (ChirpStack takes it as its queue item id too)."""
    return str(uuid.uuid4())


def _bool(args: Mapping[str, Any], key: str, kind: str) -> bool:
    value = args.get(key)
    if type(value) is not bool:
        raise InvalidInputError(f"{kind}: args.{key} must be true or false")
    return value


def _level(args: Mapping[str, Any], kind: str) -> float:
    value = args.get("level")
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not 0 <= value <= 100  # noqa: PLR2004 - percent
    ):
        raise InvalidInputError(f"{kind}: args.level must be a number from 0 to 100")
    return value


def check_args(kind: CommandKind, args: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The arguments of a command of ``kind``, checked; no other key is allowed.

    Raises:
        InvalidInputError: A key is missing, unknown, or out of its range; the
            message names it.
    """
    allowed: dict[CommandKind, frozenset[str]] = {
        CommandKind.SWITCH: frozenset({"on"}),
        CommandKind.DIM: frozenset({"level"}),
        CommandKind.OVERRIDE: frozenset({"on", "level", "until"}),
        CommandKind.READ: frozenset(),
        CommandKind.CLOCK: frozenset(),
        CommandKind.PROFILE: frozenset({"profile"}),
    }
    unknown = sorted(set(args) - allowed[kind])
    if unknown:
        raise InvalidInputError(f"{kind}: unknown args {', '.join(unknown)}")
    match kind:
        case CommandKind.SWITCH:
            return {"on": _bool(args, "on", kind)}
        case CommandKind.DIM:
            return {"level": _level(args, kind)}
        case CommandKind.OVERRIDE:
            return _override(args, now)
        case CommandKind.PROFILE:
            profile = args.get("profile")
            if not isinstance(profile, dict) or not profile:
                raise InvalidInputError("profile: args.profile must be a non-empty JSON object")
            size = len(orjson.dumps(profile))
            if size > MAX_PROFILE_BYTES:
                raise InvalidInputError(
                    f"profile: args.profile is {size} bytes of JSON; the limit is"
                    f" {MAX_PROFILE_BYTES}"
                )
            return {"profile": profile}
        case _:
            return {}


def _override(args: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    if ("on" in args) == ("level" in args):
        raise InvalidInputError("override: give args.on or args.level, one of them")
    out: dict[str, Any] = (
        {"on": _bool(args, "on", "override")}
        if "on" in args
        else {"level": _level(args, "override")}
    )
    until = args.get("until")
    if not isinstance(until, int) or isinstance(until, bool):
        raise InvalidInputError("override: args.until must be a time in epoch seconds (UTC)")
    start = now.timestamp()
    if not start < until <= start + MAX_OVERRIDE.total_seconds():
        raise InvalidInputError(
            f"override: args.until must be after now and within {MAX_OVERRIDE.days} days"
        )
    out["until"] = until
    return out


def check_expiry(expires_at: datetime, now: datetime) -> datetime:
    """A command's expiry, checked: after now and within ``MAX_EXPIRY``."""
    if expires_at.utcoffset() is None:
        raise InvalidInputError("expires_at needs a time zone")
    if not now < expires_at <= now + MAX_EXPIRY:
        raise InvalidInputError(f"expires_at must be after now and within {MAX_EXPIRY.days} days")
    return expires_at


def encode_down(command: Sendable, now: datetime) -> bytes:
    """The JSON message on the device's ``down`` topic (``t`` is the time of sending)."""
    message = {
        "id": command.id,
        "kind": str(command.kind),
        "args": dict(command.args),
        "exp": int(command.expires_at.timestamp()),
        "t": int(now.timestamp()),
    }
    return orjson.dumps(message)


@dataclass(frozen=True, slots=True)
class WireAck:
    """An answer as a device sent it."""

    id: str
    status: AckStatus
    reason: str = ""


def encode_ack(command_id: str, status: AckStatus, reason: str = "") -> bytes:
    """An answer on ``ack``, as a device writes it (the simulator and tests use it)."""
    body: dict[str, str] = {"id": command_id, "status": str(status)}
    if reason:
        body["reason"] = reason
    return orjson.dumps(body)


def decode_ack(payload: bytes) -> WireAck:
    """Read an answer from ``ack``.

    Raises:
        InvalidInputError: It is too long, not JSON, or lacks a string ``id``
            or a known ``status``.
    """
    if len(payload) > MAX_ACK_BYTES:
        raise InvalidInputError(f"the answer is {len(payload)} bytes; the limit is {MAX_ACK_BYTES}")
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise InvalidInputError("the answer is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidInputError("the answer is not a JSON object")
    command_id, status, reason = body.get("id"), body.get("status"), body.get("reason", "")
    if not isinstance(command_id, str) or not command_id or len(command_id) > 64:  # noqa: PLR2004
        raise InvalidInputError("the answer has no command id")
    if not isinstance(status, str) or status not in AckStatus.__members__.values():
        text = f"the answer's status {str(status)[:20]!r} is not ok, error or rejected"
        raise InvalidInputError(text)
    if not isinstance(reason, str):
        raise InvalidInputError("the answer's reason is not a string")
    return WireAck(command_id, AckStatus(status), reason[:MAX_REASON])


@dataclass(frozen=True, slots=True, kw_only=True)
class Stray:
    """An answer that changed no command, kept for the operator."""

    reason: StrayReason
    at: datetime
    city_id: int | None
    device_uid: str  # the device whose topic it came on
    command_id: str  # as the answer gave it ("" when unreadable)
    detail: str
    id: int = 0  # set when stored


@dataclass(frozen=True, slots=True, kw_only=True)
class Standing:
    """A command as an answer finds it: whose it is, where it is, until when."""

    id: str
    city_id: int
    device_uid: str
    state: CommandState
    expires_at: datetime

    @property
    def is_open(self) -> bool:
        """Still waiting: queued or sent."""
        return self.state in OPEN_STATES


@dataclass(frozen=True, slots=True, kw_only=True)
class Ending:
    """How a device's answer ends its command."""

    id: str
    city_id: int
    device_uid: str
    state: CommandState  # acknowledged or failed
    ack_status: AckStatus
    reason: str
    done_at: datetime
    expires_at: datetime

    @property
    def is_open(self) -> bool:
        """Never: it has ended."""
        return False


def judge_ack(
    command: Command | Standing | Ending | None,
    city_id: int,
    device_uid: str,
    ack: WireAck,
    now: datetime,
) -> Ending | StrayReason:
    """What a device's answer does: how the command ends, or why it changes nothing.

    Args:
        command: The command with the answer's id (as stored, or as an earlier
            answer of the same batch ended it), or None if there is none.
        city_id: The city of the topic the answer came on.
        device_uid: The device of that topic.
        ack: The answer.
        now: When it arrived.
    """
    if command is None:
        return StrayReason.UNKNOWN_ID
    if command.city_id != city_id or command.device_uid != device_uid:
        return StrayReason.WRONG_DEVICE
    if command.state is CommandState.EXPIRED or (command.is_open and now >= command.expires_at):
        return StrayReason.LATE
    if not command.is_open:
        return StrayReason.DUPLICATE
    return Ending(
        id=command.id,
        city_id=command.city_id,
        device_uid=command.device_uid,
        state=CommandState.ACKNOWLEDGED if ack.status is AckStatus.OK else CommandState.FAILED,
        ack_status=ack.status,
        reason=ack.reason,
        done_at=now,
        expires_at=command.expires_at,
    )
