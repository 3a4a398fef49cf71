"""A steady MQTT load that re-sends what no subscriber took, and exact counts of what was stored.

Shared by the fault tests (tests/integration/test_shared_restart.py) and the
chaos run (bench/chaos.py). Each message of a stream is sent until the
broker accepts it: an MQTT 5 PUBACK with reason 0x10 ("no matching
subscribers") means the broker dropped it, which Mosquitto 2.0 does after a
restart until shared-subscription workers subscribe again
(docs/operations.md); a device on MQTT 5 sends such a message again, and so
does this publisher. Counting per city then says, for the messages the
broker accepted, how many were stored, lost or counted twice.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.cities import City
from tests.integration.ingest_rig import AHEAD, READINGS_PER_MESSAGE, Publisher

NO_SUBSCRIBERS = 0x10  # PUBACK: accepted, but nobody subscribes: the broker dropped it
RETRY_AFTER_S = 0.2  # a refused message waits this long before it is sent again


class CodedPublisher(Publisher):
    """The rig's QoS 1 publisher, telling ``on_code(mid, reason code)`` of every PUBACK."""

    def __init__(self, port: int, on_code: Callable[[int, int], None]) -> None:
        self._on_code = on_code
        super().__init__(port)

    def _on_publish(self, *args: Any) -> None:
        # paho calls this holding its own lock: hand the code over, take no other lock.
        _client, _userdata, mid, code, _properties = args
        self._on_code(mid, code.value)

    def send(self, topic: str, payload: bytes) -> int:
        """Publish one message at QoS 1; its packet id (mid)."""
        return self._client.publish(topic, payload, qos=1).mid


class SteadyLoad:
    """Publishes a stream at ``rate`` msg/s (0: flat out) on a thread; each message until accepted.

    ``accepted`` counts the messages the broker took (PUBACK success),
    ``refused`` the messages it answered 0x10 at least once (each such
    message goes again after RETRY_AFTER_S until it is taken). :meth:`pause`
    lets everything in flight be answered, so that the broker can be
    restarted with nothing in doubt; :meth:`resume` connects again.
    """

    def __init__(self, port: int, stream: list[tuple[str, bytes]], rate: float = 0.0) -> None:
        self.stream = stream
        self.rate = rate
        self.accepted = 0
        self._refused: set[int] = set()
        self.failed: dict[int, int] = {}  # other failure codes: how many
        self._codes: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
        self._early: dict[int, int] = {}  # codes that came before their mid was recorded
        self._in_flight: dict[int, int] = {}  # mid -> message index
        self._retry: deque[tuple[float, int]] = deque()  # (not before, message index)
        self._next = 0
        self._publisher = CodedPublisher(port, self._on_code)
        self._paused = threading.Event()
        self._closing = threading.Event()
        self._idle = threading.Event()
        self._thread = threading.Thread(target=self._run, name="steady-load", daemon=True)

    @property
    def refused(self) -> int:
        """Messages the broker answered 0x10 (no subscriber) at least once."""
        return len(self._refused)

    @property
    def sent(self) -> int:
        """Messages of the stream sent at least once."""
        return self._next

    def start(self) -> None:
        """Start publishing."""
        self._thread.start()

    def pause(self, timeout: float = 60.0) -> bool:
        """Stop sending, wait until the broker answered everything sent, and disconnect.

        False if the broker did not answer in time (the connection stays then).
        """
        self._idle.clear()
        self._paused.set()
        if not self._idle.wait(timeout):
            return False
        self._publisher.close()
        return True

    def resume(self, port: int) -> None:
        """Connect again (to a restarted broker) and go on where the stream was."""
        self._publisher = CodedPublisher(port, self._on_code)
        self._paused.clear()

    def finish(self, timeout: float = 120.0) -> bool:
        """Wait until the whole stream is sent and accepted; False if not within ``timeout``."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def close(self) -> None:
        """Stop the thread, whatever is left, and disconnect."""
        self._closing.set()
        self._paused.clear()
        self._thread.join(10)
        self._publisher.close()

    def _on_code(self, mid: int, code: int) -> None:
        self._codes.put((mid, code))

    def _settle(self) -> None:
        while True:
            try:
                mid, code = self._codes.get_nowait()
            except queue.Empty:
                return
            index = self._in_flight.pop(mid, None)
            if index is None:
                self._early[mid] = code
                continue
            self._outcome(index, code)

    def _outcome(self, index: int, code: int) -> None:
        if code == NO_SUBSCRIBERS:
            self._refused.add(index)
            self._retry.append((time.monotonic() + RETRY_AFTER_S, index))
        elif code >= 0x80:
            self.failed[code] = self.failed.get(code, 0) + 1
        else:
            self.accepted += 1

    def _send(self, index: int) -> None:
        mid = self._publisher.send(*self.stream[index])
        code = self._early.pop(mid, None)
        if code is None:
            self._in_flight[mid] = index
        else:
            self._outcome(index, code)

    def _run(self) -> None:
        started = time.monotonic()
        paused_s = 0.0
        while True:
            self._settle()
            if self._paused.is_set():
                if not self._in_flight and self._codes.empty():
                    self._idle.set()
                pause_began = time.monotonic()
                while self._paused.is_set() and not self._closing.is_set():
                    self._settle()
                    if not self._in_flight:
                        self._idle.set()
                    time.sleep(0.005)
                paused_s += time.monotonic() - pause_began
                continue
            now = time.monotonic()
            while self._retry and self._retry[0][0] <= now and len(self._in_flight) < AHEAD:
                self._send(self._retry.popleft()[1])
            due = len(self.stream)
            if self.rate:
                due = min(due, int(self.rate * (now - started - paused_s)))
            while self._next < due and len(self._in_flight) < AHEAD:
                self._send(self._next)
                self._next += 1
            done = self._next == len(self.stream) and not self._in_flight and not self._retry
            if done or self._closing.is_set():
                return
            time.sleep(0.002)


@dataclass(frozen=True)
class Tally:
    """What a city's store holds against what was published to it."""

    published: int  # messages the broker accepted
    stored: int  # messages (reports) stored
    readings: int  # readings in them
    rolled: int  # readings counted in the hourly rollups

    @property
    def lost(self) -> int:
        """Accepted and not stored."""
        return max(0, self.published - self.stored)

    @property
    def duplicated(self) -> int:
        """Messages stored more than once: rows past one a message, and rollups counted twice.

        The key (device, time) forbids a second row, so a redelivered message
        that slipped through would show in the rollups' sample counts instead.
        """
        extra_rows = max(0, self.stored - self.published)
        extra_rolled = max(0, self.rolled - self.readings)
        return extra_rows + -(-extra_rolled // READINGS_PER_MESSAGE)


def tally(db: SqlDatabase, city: City, published: int) -> Tally:
    """Count the city's stored messages, readings and rolled-up samples."""
    with db.engine.connect() as conn:
        stored, readings = conn.execute(
            text("SELECT count(*), coalesce(sum(size), 0) FROM reports WHERE city_id = :c"),
            {"c": city.pk},
        ).one()
        rolled = conn.execute(
            text("SELECT coalesce(sum(samples), 0) FROM reading_hours WHERE city_id = :c"),
            {"c": city.pk},
        ).scalar_one()
    return Tally(published, int(stored), int(readings), int(rolled))


def wait_stored(db: SqlDatabase, city: City, published: int, timeout: float) -> Tally:
    """Poll until the city holds ``published`` messages or ``timeout`` passes; the last count."""
    deadline = time.monotonic() + timeout
    while (counted := tally(db, city, published)).stored < published:
        if time.monotonic() > deadline:
            break
        time.sleep(0.25)
    return counted
