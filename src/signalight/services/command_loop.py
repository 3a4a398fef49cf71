"""The dispatcher on a thread: a round every interval, or at once while a round comes back full."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from signalight.services.commands import DISPATCH_LIMIT

if TYPE_CHECKING:
    from signalight.ports.commands import CommandLink
    from signalight.services.commands import CommandService

__all__ = ["CommandLoop"]

log = logging.getLogger(__name__)


class CommandLoop:
    """Runs ``service.dispatch(link)`` until stopped, with the link's answers handled.

    A failed round (the database away) is logged and tried again after the
    interval; nothing is lost, as a command is marked sent before it is
    published and sent again until answered.
    """

    def __init__(self, service: CommandService, link: CommandLink, interval: float = 1.0) -> None:
        self.service = service
        self.link = link
        self.interval = interval
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="command-dispatch", daemon=True)

    def start(self) -> None:
        """Start the link (its answers go to the service) and the rounds."""
        self.link.start(self.service.handle_answers)
        self._thread.start()

    def stop(self) -> None:
        """Finish the round under way, then stop the link."""
        self._stop.set()
        self._thread.join(30)
        self.link.stop()

    def _run(self) -> None:
        failing = False
        while not self._stop.is_set():
            sent = 0
            try:
                sent = self.service.dispatch(self.link).sent
            except Exception:
                if not failing:  # logged once when it starts failing, once when it recovers
                    log.exception("a dispatcher round failed; trying again")
                failing = True
            else:
                if failing:
                    log.info("the dispatcher works again")
                failing = False
            self.rounds += 1
            if sent < DISPATCH_LIMIT:
                self._stop.wait(self.interval)
