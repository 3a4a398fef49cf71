"""Commands that simulated nodes have run, as their lamps then burn (the demo's loop closed).

:class:`~signalight.sim.command_nodes.NodeFleet` gives each command it runs
to :class:`Orders`; the simulator's lights ask it at each report what they
were told. A switch or a dim holds until the node's schedule next changes
(as a real node's live command does); an override until its own ``until``.
The two run on different threads: a command thread writes, the simulator's
reads, each through one dictionary assignment.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Mapping

    from signalight.sim.nodes import LightNode

__all__ = ["Order", "Orders"]


class Order(NamedTuple):
    """What a node was told: switch (``on``), level, or both, and until when (None: its plan's)."""

    seq: int
    on: bool | None
    level: float | None
    until: float | None


class Orders:
    """The newest command each simulated node ran, and how long it holds."""

    def __init__(self) -> None:
        self._given: dict[str, Order] = {}
        self._held: dict[str, Order] = {}  # the simulator's: each order with its end fixed
        self._seq = itertools.count(1)

    def give(self, device: str, kind: str, args: Mapping[str, Any]) -> None:
        """A node ran a command of ``kind`` with ``args`` (as docs/protocol.md defines them)."""
        match kind:
            case "switch":
                order = Order(next(self._seq), bool(args["on"]), None, None)
            case "dim":
                order = Order(next(self._seq), None, float(args["level"]), None)
            case "override":
                on, level = args.get("on"), args.get("level")
                order = Order(
                    next(self._seq),
                    None if on is None else bool(on),
                    None if level is None else float(level),
                    float(args["until"]),
                )
            case _:
                return  # a profile, a clock or a read leaves the lamp as it burns
        self._given[device] = order

    def told(self, light: LightNode, t: float, on: bool, dim: float) -> tuple[bool, float]:
        """The lamp's ``(on, dim)`` at ``t``: its schedule's, unless a command holds."""
        uid = light.uid
        if uid is None:
            return on, dim
        given = self._given.get(uid)
        if given is None:
            return on, dim
        held = self._held.get(uid)
        if held is None or held.seq != given.seq:
            until = given.until
            if until is None:  # until the schedule's next change
                until = light.schedule.state(light.cell, light.offset, t)[2]
            held = self._held[uid] = given._replace(until=until)
        assert held.until is not None  # noqa: S101 - fixed just above
        if t >= held.until:
            return on, dim
        return (on if held.on is None else held.on), (dim if held.level is None else held.level)
