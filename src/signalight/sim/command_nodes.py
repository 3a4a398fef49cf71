"""Simulated nodes that obey commands (or fail to), with ground truth of what each ran.

:class:`NodeFleet` is pure: a ``down`` message in, the node's answer out,
as ``docs/protocol.md`` (Commands) asks of a device: each id run at most
once and a repeated id answered again without running it, an expired
command rejected. ``adapters.mqtt_sim_nodes.MqttNodes`` puts a fleet on a
broker, one session for all its nodes (as the simulator's publisher speaks
for the fleet).
Tests and the benchmark read the ground truth: ``ran`` (what each node ran,
in order) and ``answers`` (what it said).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import orjson

from signalight.domain.commands import AckStatus, encode_ack
from signalight.domain.topics import TOPIC_ROOT, Channel
from signalight.sim.orders import Orders

__all__ = ["Behaviour", "NodeFleet", "NodeState"]

_PARTS: Final = 4


class Behaviour(StrEnum):
    """How a simulated node treats commands."""

    OBEY = "obey"  # runs it, answers ok
    FAIL = "fail"  # tries, answers error (a stuck relay)
    SILENT = "silent"  # runs it and never answers (a broken uplink)
    OFFLINE = "offline"  # gets nothing: its messages wait in the broker


@dataclass(slots=True)
class NodeState:
    """One node: its lamp, and every command id it has seen with its answer."""

    on: bool = True
    level: float = 100.0
    profile: dict[str, Any] | None = None
    clock_set_to: int | None = None
    answered: dict[str, tuple[AckStatus, str]] = field(default_factory=dict)


class NodeFleet:
    """The command-handling part of a fleet of nodes, without I/O.

    Args:
        behaviours: Per device; others obey.
        now: The nodes' clock (epoch seconds), to reject expired commands.
        orders: Given each command run, for the simulator's lamps to burn by.
    """

    def __init__(
        self,
        behaviours: Mapping[str, Behaviour] | None = None,
        now: Callable[[], float] | None = None,
        orders: Orders | None = None,
    ) -> None:
        import time

        self.behaviours: dict[str, Behaviour] = dict(behaviours or {})
        self.orders = orders  # where the lamps learn what they ran (the demo's simulator)
        self._now = now or time.time
        self.nodes: dict[str, NodeState] = {}
        self.ran: dict[str, list[str]] = {}  # device -> command ids run, in order
        self.received: Counter[str] = Counter()  # command id -> copies received
        self._lock = threading.Lock()

    def receive(self, topic: str, payload: bytes) -> tuple[str, bytes] | None:
        """Handle one ``down`` message; the answer's topic and payload, or None for silence."""
        parts = topic.split("/")
        if len(parts) != _PARTS or parts[0] != TOPIC_ROOT or parts[3] != Channel.DOWN:
            return None
        device = parts[2]
        body = orjson.loads(payload)
        command_id = body["id"]
        with self._lock:
            behaviour = self.behaviours.get(device, Behaviour.OBEY)
            node = self.nodes.setdefault(device, NodeState())
            self.received[command_id] += 1
            if command_id in node.answered:  # a repeated id: answered again, never run again
                status, reason = node.answered[command_id]
            else:
                status, reason = self._run(device, node, behaviour, body)
                node.answered[command_id] = (status, reason)
        if behaviour is Behaviour.SILENT:
            return None
        ack_topic = f"{TOPIC_ROOT}/{parts[1]}/{device}/{Channel.ACK}"
        return ack_topic, encode_ack(command_id, status, reason)

    def _run(
        self, device: str, node: NodeState, behaviour: Behaviour, body: dict[str, Any]
    ) -> tuple[AckStatus, str]:
        if self._now() >= body["exp"]:
            return AckStatus.REJECTED, "expired"
        self.ran.setdefault(device, []).append(body["id"])
        if behaviour is Behaviour.FAIL:
            return AckStatus.ERROR, "relay stuck"
        args = body["args"]
        match body["kind"]:
            case "switch":
                node.on = args["on"]
            case "dim":
                node.level = args["level"]
            case "override":
                node.on = args.get("on", node.on)
                node.level = args.get("level", node.level)
            case "profile":
                node.profile = args["profile"]
            case "clock":
                node.clock_set_to = body["t"]
            case "read":
                pass
            case _:
                self.ran[device].pop()
                return AckStatus.REJECTED, f"unknown kind {body['kind']}"
        if self.orders is not None:
            self.orders.give(device, body["kind"], args)
        return AckStatus.OK, ""

    def runs(self) -> Counter[str]:
        """How many times each command id was run (ground truth: never above 1)."""
        return Counter(command_id for ids in self.ran.values() for command_id in ids)
