"""Crews at signal cabinets: the maintenance windows they book, and what that makes an opening.

A crew books a window before it opens a cabinet door (``Windows``, which
``signalight simulate`` points at the maintenance windows of the database);
the fault rules then find the opening authorised. The ground truth names
each opening as the windows make it: a crew's opening whose window could not
be booked is a break-in, and a stranger's opening inside a window a crew
booked is, for the rules, authorised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from signalight.sim.faults import AUTHORISED, Fault, FaultType

__all__ = ["Crews", "Windows"]

# Books a crew's maintenance window on an intersection: (asset code, from, until), epoch
# seconds; False if it could not.
Windows = Callable[[str, float, float], bool]
WINDOW_LEAD_S: Final = 900.0  # a crew's window opens this long before they open the door
WINDOW_TAIL_S: Final = 900.0  # and ends this long after they mean to close it
WINDOW_PLANNED_S: Final = 2 * 3600.0  # the span a window plans for an opening with no end


class Crews:
    """The windows booked through ``windows`` (None: none can be), by intersection."""

    def __init__(self, windows: Windows | None) -> None:
        self.windows = windows
        self._booked: dict[str, list[tuple[float, float]]] = {}

    def name(self, fault: Fault) -> None:
        """Book a crew's opening's window; name a door opening as the windows make it."""
        booked = self._booked.setdefault(fault.asset, [])
        if fault.type in AUTHORISED:
            until = fault.end if fault.end is not None else fault.start + WINDOW_PLANNED_S
            span = (fault.start - WINDOW_LEAD_S, until + WINDOW_TAIL_S)
            if self.windows is not None and self.windows(fault.asset, *span):
                booked.append(span)
            else:
                fault.type = FaultType.DOOR_OPEN_UNAUTHORISED
        elif fault.type is FaultType.DOOR_OPEN_UNAUTHORISED and any(
            start <= fault.start < until for start, until in booked
        ):
            fault.type = FaultType.DOOR_OPEN_AUTHORISED
