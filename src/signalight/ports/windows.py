"""Maintenance windows: who may open an intersection's cabinet door, and when."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from signalight.domain.assets import Page
from signalight.domain.windows import MaintenanceWindow, WindowQuery

__all__ = ["WindowStore"]


class WindowStore(Protocol):
    """The windows of every city; every read and write names the city.

    Each change is kept in the audit log in the same transaction (the actor
    is the window's ``created_by`` when it is opened), so a window never
    exists without the record of who opened or ended it.
    """

    def add_window(self, window: MaintenanceWindow) -> MaintenanceWindow:
        """Store a new window; returns it with its id."""
        ...

    def get_window(self, city_id: int, window_id: int) -> MaintenanceWindow:
        """One window of the city; NotFoundError if none."""
        ...

    def query_windows(self, city_id: int, query: WindowQuery) -> Page[MaintenanceWindow]:
        """The city's windows that match, newest first; ``next_after`` is the id to go before."""
        ...

    def end_window(
        self, city_id: int, window_id: int, *, actor: str, at: datetime
    ) -> MaintenanceWindow:
        """End a window early at ``at``; returns it after.

        Raises:
            NotFoundError: The city has no such window.
            ConflictError: It was ended already, or has run out by ``at``.
        """
        ...

    def covering(
        self, city_id: int, asset_ids: Collection[int], at: datetime
    ) -> list[MaintenanceWindow]:
        """The windows on any of those assets that cover ``at`` (not ended), earliest first."""
        ...
