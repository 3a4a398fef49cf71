"""Ingest benchmark: MQTT to stored readings and live state, on SQLite and PostgreSQL.

Each figure is printed beside a reference measured in the same run on the
same machine, and beside the floor from the issue (PASS or BELOW; the run
exits 1 if any figure is BELOW):

1. Broker ceiling, the reference: ``mosquitto_pub -l`` into ``mosquitto_sub``
   through a broker started from deploy/mosquitto/signalight.conf, at QoS 1
   (what ingest uses) and, for information, QoS 0.
2. End-to-end throughput (messages stored, device state updated) with one and
   two ``signalight ingest`` workers (a shared subscription), two ways:
   DRAIN, a backlog queued in the workers' persistent sessions before they
   start (the publisher's speed plays no part), timed over the whole backlog
   or the first ``--seconds``, and LIVE, a publisher paced a tenth above the
   floor alongside the workers for ``--seconds``. Floor: 20,000 messages/s
   for 60 s. Workers run the fault rules as deployed (one worker does;
   shared-subscription workers do not); the fleet is healthy by night, and
   one more LIVE run has ``--burst`` lamps (5,000) fail at half time, a burst
   of as many alarms, whose rate stands beside the plain LIVE run's.
3. Publish-to-state-visible latency at a paced 5,000 messages/s: probe
   messages with unique times, found in ``device_states`` by a poller.
   Floor: p99 <= 500 ms.
4. Resident memory of ingest with 1,000,000 devices in its directory, after
   one message per device, beside the same process before loading.
   Floor: 1 GB.

The CPU each process used is printed with every measurement (% of one core),
to show where the time goes. The publisher writes pre-encoded QoS 1 PUBLISH
packets to a socket, so the broker, not the bench, sets its pace.

Run with ``make bench`` or ``python bench/ingest.py [--quick] [--seconds N]``.
PostgreSQL is the server at SIGNALIGHT_BENCH_POSTGRES_URL (default the local
one, user postgres); the databases ``signalight_bench_ingest`` and
``signalight_bench_ingest_tpl`` are created and dropped.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import orjson
import psycopg

from ingest_rig import (
    LAST_LAG,
    PUBLISHER,
    RATED_W,
    SECRET,
    STORED,
    SUBSCRIBER,
    Broker,
    Chunk,
    CpuMeter,
    Publisher,
    Subscriber,
    Worker,
    device_topic,
    held,
    pack,
    prime_session,
    publish_packet,
    readings_in,
    total,
    worker_users,
)
from signalight.adapters.sql.bulk import insert_rows
from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.tables import devices as devices_table
from signalight.consumers.mqtt import (
    RECEIVE_MAXIMUM_CAP,
    SESSION_EXPIRY_S,
    MqttSettings,
    subscriptions,
)
from signalight.domain.assets import AssetKind, AssetRecord, DeviceKind, LuminaireType
from signalight.domain.cities import City
from signalight.domain.topics import INGEST_USER
from signalight.settings import Settings

PG_URL = os.environ.get(
    "SIGNALIGHT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/signalight_bench"
)
PG_NAME = "signalight_bench_ingest"
CITY = City(
    slug="bench",
    name="Seberang Perai",
    country="MY",
    timezone="Asia/Kuala_Lumpur",
    lat=5.38,
    lon=100.43,
    currency="MYR",
)
SHARE_GROUP = "bench"
# What `signalight ingest` asks of the broker: twice a batch in flight (consumers/mqtt.py).
RECEIVE_MAXIMUM = min(RECEIVE_MAXIMUM_CAP, 2 * Settings().ingest_batch)
MOSQUITTO_SUB = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"
MOSQUITTO_PUB = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
CHUNK = 200  # packets per socket write
PROBES = 100  # devices that get only latency probes
PROBE_EVERY = 50  # one message in this many is a probe
POLL_S = 0.01  # how often the latency poller reads device_states
THROUGHPUT_FLOOR = 20_000.0
LATENCY_FLOOR_MS = 500.0
MEMORY_FLOOR_MB = 1024.0


def rate_text(value: float) -> str:
    return f"{value:,.0f} msg/s"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "BELOW"


@dataclass
class Summary:
    """The final table: one row per figure."""

    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)

    def add(self, figure: str, value: str, reference: str, floor: str, ok: bool | None) -> None:
        self.rows.append((figure, value, reference, floor, "" if ok is None else verdict(ok)))

    def below(self) -> list[str]:
        """The figures that missed their floor."""
        return [row[0] for row in self.rows if row[4] == verdict(ok=False)]

    def print(self) -> None:
        header = ("figure", "measured", "reference (same run)", "floor", "")
        widths = [max(len(row[i]) for row in [header, *self.rows]) for i in range(5)]
        print()
        print("summary")
        for row in [header, *self.rows]:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


# --- 1. the broker ceiling --------------------------------------------------------------------


def broker_ceiling(
    workdir: Path, count: int, qos: int, inflight: int, protocol: str
) -> tuple[float, str]:
    """msgs/s from ``mosquitto_pub -l`` to ``mosquitto_sub -C count``, and the broker's CPU."""
    broker = Broker(workdir, worker_users(1))
    broker.start()
    topic = device_topic(CITY.slug, "N-00000")
    lines = workdir / "lines"
    base = time.time() - 3600
    lines.write_bytes(b"".join(pack("N-00000", base + n, n) + b"\n" for n in range(count)))
    common = ["-V", protocol, "-p", str(broker.port), "-P", SECRET, "-q", str(qos), "-t", topic]
    sub = subprocess.Popen(  # noqa: S603 - Mosquitto's own client
        [MOSQUITTO_SUB, *common, "-u", SUBSCRIBER, "-C", str(count), "-W", "300"],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.5)  # connected and subscribed
    meter = CpuMeter({"broker": [broker.pid]})
    meter.start()
    started = time.perf_counter()
    # mosquitto_pub -l exits at the end of its input without waiting for its
    # messages in flight: its stdin stays open until the subscriber has all.
    pub_command = " ".join([MOSQUITTO_PUB, *common, "-u", PUBLISHER, "-M", str(inflight), "-l"])
    feeder = subprocess.Popen(  # noqa: S602 - our own fixed command line
        f"(cat {lines}; sleep 600) | exec {pub_command}", shell=True, start_new_session=True
    )
    sub.wait()
    seconds = time.perf_counter() - started
    meter.stop()
    os.killpg(feeder.pid, signal.SIGTERM)
    feeder.wait()
    broker.stop()
    if sub.returncode != 0:
        return 0.0, "mosquitto_sub timed out"
    return count / seconds, meter.describe()


# --- fleets and databases ---------------------------------------------------------------------


def fleet_uids(devices: int) -> list[str]:
    return [f"N-{n:05d}" for n in range(devices)]


def probe_uids() -> list[str]:
    return [f"P-{n:05d}" for n in range(PROBES)]


def night_longitude(at: float) -> float:
    """A longitude where ``at`` falls near local solar midnight: the bench's lights burn by night.

    The fault rules judge lights by the sun at their poles; a bench run at any
    hour then sees the same healthy fleet (no day burning at noon).
    """
    hours = (at % 86_400.0) / 3600.0
    return (-15.0 * hours + 180.0) % 360.0 - 180.0


def add_fleet(url: str, devices: int) -> None:
    """Migrate and add the city with ``devices`` streetlights, a node each, and the probes.

    Lights are 100 W LEDs near the equator where it is night at the bench's
    message times, not dimmed, so that the fault rules (which ingest runs)
    find the fleet healthy unless a run makes lamps fail on purpose.
    """
    db = SqlDatabase.connect(url)
    db.migrate()
    lon = night_longitude(time.time() - 3600)
    city = db.cities.add_city(CITY.with_changes(lon=lon))
    records = [
        AssetRecord(
            kind=AssetKind.STREETLIGHT,
            code=f"SL-{uid}",
            lat=CITY.lat,
            lon=lon,
            device=uid,
            luminaire=LuminaireType.LED,
            rated_watts=RATED_W,
        )
        for uid in [*fleet_uids(devices), *probe_uids()]
    ]
    db.assets.upsert_assets(city.pk, records)
    db.alarms.set_detection_overrides(city.pk, {"night_dim": 100}, time.time())
    db.close()


@dataclass
class Backend:
    """One database server: a template with the fleet, and a fresh copy per run."""

    name: str
    workdir: Path
    devices: int
    pg_base: str = ""  # postgresql://...: the server, without a database

    @property
    def postgres(self) -> bool:
        return bool(self.pg_base)

    def _template_url(self) -> str:
        if self.postgres:
            return f"{self.pg_base}/{PG_NAME}_tpl"
        return f"sqlite:///{self.workdir / 'template.db'}"

    def prepare(self) -> None:
        """Build the template database with the fleet."""
        if self.postgres:
            self._admin(f'DROP DATABASE IF EXISTS "{PG_NAME}_tpl" WITH (FORCE)')
            self._admin(f'CREATE DATABASE "{PG_NAME}_tpl"')
        add_fleet(self._template_url(), self.devices)
        if not self.postgres:
            with sqlite3.connect(self.workdir / "template.db") as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def fresh(self) -> str:
        """A fresh copy of the template; its URL."""
        if self.postgres:
            self._admin(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
            self._admin(f'CREATE DATABASE "{PG_NAME}" TEMPLATE "{PG_NAME}_tpl"')
            return f"{self.pg_base}/{PG_NAME}"
        run = self.workdir / "run.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{run}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(self.workdir / "template.db", run)
        return f"sqlite:///{run}"

    def drop(self) -> None:
        """Drop the PostgreSQL databases (SQLite's go with the temporary directory)."""
        if self.postgres:
            self._admin(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
            self._admin(f'DROP DATABASE IF EXISTS "{PG_NAME}_tpl" WITH (FORCE)')

    def _admin(self, sql: str) -> None:
        with psycopg.connect(f"{self.pg_base}/postgres", autocommit=True) as conn:
            conn.execute(sql.encode())

    def query(self, url: str, sql: str) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` on the run's database."""
        if self.postgres:
            with psycopg.connect(url) as conn:
                return list(conn.execute(sql.encode()).fetchall())
        with sqlite3.connect(url.removeprefix("sqlite:///")) as lite:
            return list(lite.execute(sql).fetchall())

    def counts(self, url: str) -> tuple[int, int]:
        """(readings, device states) in the run's database."""
        readings = self.query(url, "SELECT coalesce(sum(size), 0) FROM reports")[0][0]
        states = self.query(url, "SELECT count(*) FROM device_states")[0][0]
        return int(readings), int(states)


def postgres_base() -> str:
    """The server part of PG_URL if it answers, else '' (PostgreSQL is skipped)."""
    base = PG_URL.rpartition("/")[0]
    try:
        with psycopg.connect(f"{base}/postgres", connect_timeout=5):
            pass
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL not reachable ({exc}); skipping it", file=sys.stderr)
        return ""
    return base


class PgWaits:
    """What the run database's active backends wait for, sampled every 0.1 s on a thread."""

    def __init__(self, backend: Backend) -> None:
        self.counts: dict[str, int] = {}
        self._base = backend.pg_base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        if self._base:
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._base:
            self._thread.join()

    def _run(self) -> None:
        sql = (
            "SELECT coalesce(wait_event_type || ':' || wait_event, 'running') FROM pg_stat_activity"
            " WHERE datname = %s AND state = 'active' AND pid <> pg_backend_pid()"
        )
        with psycopg.connect(f"{self._base}/postgres", autocommit=True) as conn:
            while not self._stop.wait(0.1):
                for (event,) in conn.execute(sql, (PG_NAME,)).fetchall():
                    self.counts[event] = self.counts.get(event, 0) + 1

    def describe(self) -> str:
        """The commonest states, as shares of all samples of an active backend."""
        seen = sum(self.counts.values())
        top = sorted(self.counts.items(), key=lambda item: -item[1])[:5]
        return ", ".join(f"{event} {100 * n / seen:.0f}%" for event, n in top) or "none active"


# --- messages ---------------------------------------------------------------------------------


def build_chunks(
    uids: list[str], count: int, base: float, *, dead: int = 0, dead_from: int = 0
) -> tuple[list[Chunk], list[int]]:
    """``count`` messages over the devices, a second apart per device, in CHUNK-sized writes.

    From round ``dead_from`` on, the first ``dead`` devices report their lamps
    out: a burst of that many lamp-failure alarms.

    Returns the chunks and the running total of readings after each chunk.
    """
    devices = len(uids)
    topics = [device_topic(CITY.slug, uid) for uid in uids]
    chunks: list[Chunk] = []
    readings: list[int] = []
    held = 0
    for first in range(0, count, CHUNK):
        packets = []
        for n in range(first, min(first + CHUNK, count)):
            device = n % devices
            round_ = n // devices
            out = device < dead and round_ >= dead_from
            payload = pack(uids[device], base + round_, n, dead=out)
            packets.append(publish_packet(topics[device], payload, n % 65535 + 1))
            held += readings_in(n)
        chunks.append((b"".join(packets), len(packets)))
        readings.append(held)
    return chunks, readings


# --- 2. throughput ----------------------------------------------------------------------------


@dataclass
class Run:
    """One broker, one fresh database and the workers, for one measurement."""

    backend: Backend
    workdir: Path
    workers: int
    url: str = ""
    broker: Broker | None = None
    pool: list[Worker] = field(default_factory=list)
    judged: bool = False  # beside shared workers, `signalight detect` on an account of its own
    judge: Worker | None = None

    def __enter__(self) -> Self:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.url = self.backend.fresh()
        users = worker_users(self.workers)
        judge_user = f"{INGEST_USER}-{self.workers + 1}"
        self.broker = Broker(self.workdir, [*users, judge_user] if self.judged else users)
        self.broker.start()
        group = SHARE_GROUP if self.workers > 1 else None
        filters = subscriptions(MqttSettings(share_group=group))
        for user in users:
            prime_session(self.broker.port, user, filters, SESSION_EXPIRY_S, RECEIVE_MAXIMUM)
        self.pool = [
            Worker(self.workdir, self.url, self.broker.port, user, group) for user in users
        ]
        if self.judged:
            alone = subscriptions(MqttSettings(share_group=None))
            prime_session(self.broker.port, judge_user, alone, SESSION_EXPIRY_S, RECEIVE_MAXIMUM)
            self.judge = Worker(
                self.workdir, self.url, self.broker.port, judge_user, judge=self.workers + 1
            )
        return self

    def __exit__(self, *_exc: object) -> None:
        for worker in [*self.pool, *([self.judge] if self.judge else [])]:
            worker.stop()
        if self.broker is not None and self.broker.process is not None:
            self.broker.process.kill()  # its store is of no further use
            self.broker.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def port(self) -> int:
        assert self.broker is not None  # noqa: S101 - set on entry
        return self.broker.port

    def start_workers(self) -> float:
        """Start every worker; the monotonic time the first one was ready."""
        if self.judge is not None:
            self.judge.start()  # it serves no /metrics: the workers' readiness is the run's
        for worker in self.pool:
            worker.start()
        return min(worker.wait_ready() for worker in self.pool)

    def meter(self) -> CpuMeter:
        assert self.broker is not None  # noqa: S101 - set on entry
        groups = {"broker": [self.broker.pid], "bench/publisher": [os.getpid()]}
        for n, worker in enumerate(self.pool, start=1):
            groups[f"worker{n}"] = [worker.pid]
        if self.judge is not None:
            groups["detect"] = [self.judge.pid]
        return CpuMeter(groups, postgres=self.backend.postgres)

    def label(self) -> str:
        judged = " + detect" if self.judged else ""
        return (
            f"[{self.backend.name}, {self.workers} worker{'s' if self.workers > 1 else ''}{judged}]"
        )


def held_text(most: float) -> str:
    return (
        f"most messages held by the worker(s) received and not yet stored (so not acknowledged):"
        f" {most:,.0f}; ingest asks the broker for at most {RECEIVE_MAXIMUM:,} a worker"
    )


def diagnostics(run: Run, meter: CpuMeter, waits: PgWaits) -> None:
    """Where the time went: CPU per process, PostgreSQL's waits, failed writes."""
    print(f"{run.label()}   CPU (% of one core): {meter.describe()}")
    if run.backend.postgres:
        print(f"{run.label()}   PostgreSQL backends of the run (samples): {waits.describe()}")
    failed = sum(worker.failed_writes() for worker in run.pool)
    if failed:
        print(f"{run.label()}   failed writes, each retried after a pause: {failed:,}")


def drain(run: Run, chunks: list[Chunk], cap_s: float, ceiling: float) -> float:
    """Queue the messages, then start the workers and time them storing every one."""
    count = sum(n for _, n in chunks)
    publisher = Publisher(run.port)
    started = time.perf_counter()
    publisher.publish(chunks)
    publisher.wait_acked()
    queued_s = time.perf_counter() - started
    publisher.close()
    with PgWaits(run.backend) as waits:
        t0 = run.start_workers()
        meter = run.meter()
        meter.start()
        stored = most = 0.0
        while stored < count and time.monotonic() - t0 < cap_s:
            time.sleep(0.1)
            stored, holding = held(run.pool)
            most = max(most, holding)
        seconds = time.monotonic() - t0
        meter.stop()
    split = " + ".join(f"{(w.metrics() or {}).get(STORED, 0):,.0f}" for w in run.pool)
    rate = stored / seconds
    done = "all stored" if stored >= count else f"clock stopped at {cap_s:.0f} s"
    print(
        f"{run.label()} DRAIN (a backlog of {count:,} queued at {rate_text(count / queued_s)} "
        f"in the persistent session(s) before the workers start): {stored:,.0f} stored in "
        f"{seconds:.1f} s ({done}) = {rate_text(rate)}  | {rate / ceiling:.2f} x the QoS 1 "
        f"broker ceiling ({rate_text(ceiling)})  | floor {rate_text(THROUGHPUT_FLOOR)}: "
        f"{verdict(rate >= THROUGHPUT_FLOOR)}"
    )
    if len(run.pool) > 1:
        print(f"{run.label()}   messages stored per worker: {split}")
    print(f"{run.label()}   {held_text(most)}")
    diagnostics(run, meter, waits)
    return rate


def live(
    run: Run, chunks: list[Chunk], seconds: float, offered: float
) -> tuple[float, float, bool]:
    """A publisher at ``offered`` msg/s (0: flat out) while the workers run; the rates."""
    run.start_workers()
    time.sleep(0.5)  # connected
    publisher = Publisher(run.port)
    with PgWaits(run.backend) as waits:
        meter = run.meter()
        meter.start()
        t0 = time.monotonic()
        thread = threading.Thread(
            target=publisher.publish,
            args=(chunks,),
            kwargs={"until": t0 + seconds, "rate": offered},
            daemon=True,
        )
        thread.start()
        half: tuple[float, float] | None = None
        most = 0.0
        while (left := t0 + seconds - time.monotonic()) > 0:
            time.sleep(min(0.5, left))
            stored, holding = held(run.pool)
            most = max(most, holding)
            if half is None and time.monotonic() >= t0 + seconds / 2:
                half = (time.monotonic(), stored)
        end = time.monotonic()
        published, stored = publisher.acked, total(run.pool, STORED)
        meter.stop()
    assert half is not None  # noqa: S101 - the loop ran past half time
    elapsed = end - t0
    thread.join()
    lag = max((w.metrics() or {}).get(LAST_LAG, 0.0) for w in run.pool)
    publisher.close()
    pub_rate, stored_rate = published / elapsed, stored / elapsed
    second_half = (stored - half[1]) / (end - half[0])
    backlog = published - stored
    kept_up = backlog <= pub_rate * 1.0
    ran_out = publisher.sent >= sum(n for _, n in chunks)
    how = f"paced at {rate_text(offered)}" if offered else "flat out"
    print(
        f"{run.label()} LIVE (publisher {how} alongside the workers for {elapsed:.0f} s): "
        f"published {rate_text(pub_rate)}{' (ran out of messages)' if ran_out else ''}, "
        f"stored {rate_text(stored_rate)} ({rate_text(second_half)} in the second half)  "
        f"| floor {rate_text(THROUGHPUT_FLOOR)} stored: {verdict(stored_rate >= THROUGHPUT_FLOOR)}"
    )
    print(
        f"{run.label()}   at the end: {backlog:,.0f} messages published and not yet stored "
        f"({backlog / max(stored_rate, 1):.0f} s of work at the stored rate), newest batch's "
        f"lag {lag:.2f} s: " + ("kept up" if kept_up else "fell behind")
    )
    print(f"{run.label()}   {held_text(most)}")
    diagnostics(run, meter, waits)
    return pub_rate, stored_rate, kept_up


def wait_alarms(backend: Backend, url: str, expected: int, timeout: float = 60.0) -> int:
    """How many lamp-failure alarms the run stored, waiting up to ``timeout`` for ``expected``."""
    deadline = time.monotonic() + timeout
    while True:
        ((found,),) = backend.query(url, "SELECT count(*) FROM alarms WHERE type = 'lampFailure'")
        if found >= expected or time.monotonic() > deadline:
            return int(found)
        time.sleep(1.0)


# --- 3. latency -------------------------------------------------------------------------------


@dataclass
class Probes:
    """Probes published and not yet seen, per device id; latencies of those seen."""

    pending: dict[int, deque[tuple[float, float]]] = field(default_factory=dict)
    seen: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Event = field(default_factory=threading.Event)

    published: dict[float, float] = field(default_factory=dict)  # bt -> when

    def sent(self, device_id: int, base_time: float, at: float) -> None:
        self.published[round(base_time, 3)] = at
        with self.lock:
            self.pending.setdefault(device_id, deque()).append((base_time, at))

    def observe(self, states: list[tuple[Any, ...]], at: float) -> None:
        with self.lock:
            for device_id, observed_at in states:
                waiting = self.pending.get(device_id)
                while waiting and waiting[0][0] <= observed_at + 1e-6:
                    self.seen.append(at - waiting.popleft()[1])

    def outstanding(self) -> int:
        with self.lock:
            return sum(len(q) for q in self.pending.values())


def poll_states(backend: Backend, url: str, ids: list[int], probes: Probes) -> None:
    """Read the probe devices' observed_at every POLL_S until told to stop."""
    sql = f"SELECT device_id, observed_at FROM device_states WHERE device_id IN ({', '.join(map(str, ids))})"  # noqa: E501, S608 - our own ids
    pg = psycopg.connect(url, autocommit=True) if backend.postgres else None
    lite = None if pg else sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    while not probes.done.is_set():
        rows: list[tuple[Any, ...]] = (
            pg.execute(sql.encode()).fetchall() if pg else lite.execute(sql).fetchall()  # type: ignore[union-attr]
        )
        probes.observe(rows, time.monotonic())
        time.sleep(POLL_S)


Tick = tuple[bytes, int, list[tuple[int, float]]]  # packets, how many, probes (device id, bt)


def latency_ticks(
    uids: list[str], probes_uids: list[str], probe_ids: list[int], rate: int, seconds: float
) -> list[Tick]:
    """The messages of the latency run, POLL_S worth per tick; one in PROBE_EVERY a probe."""
    per_tick = max(1, round(rate * POLL_S))  # messages per 10 ms
    count = int(rate * seconds)
    base = float(int(time.time()) - 1800)
    probe_base = float(int(time.time()) - 60)  # bt prints exactly with 3 decimals
    ticks: list[Tick] = []
    packets: list[bytes] = []
    marks: list[tuple[int, float]] = []
    for n in range(count):
        if n % PROBE_EVERY == PROBE_EVERY - 1:
            k = n // PROBE_EVERY
            uid, bt = probes_uids[k % PROBES], probe_base + k * 0.001
            marks.append((probe_ids[k % PROBES], bt))
        else:
            uid, bt = uids[n % len(uids)], base + n // len(uids)
        packets.append(
            publish_packet(device_topic(CITY.slug, uid), pack(uid, bt, n), n % 65535 + 1)
        )
        if len(packets) == per_tick or n == count - 1:
            ticks.append((b"".join(packets), len(packets), marks))
            packets, marks = [], []
    return ticks


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) in ms of samples in seconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def latency(run: Run, rate: int, seconds: float) -> tuple[float, float, int, int, float]:
    """Paced publishing with probes; (p50 ms, p99 ms, seen, sent, broker p99 ms)."""
    uids = fleet_uids(run.backend.devices)
    ids = dict(run.backend.query(run.url, "SELECT uid, id FROM devices"))
    probes_uids = probe_uids()
    probe_ids = [int(ids[uid]) for uid in probes_uids]
    ticks = latency_ticks(uids, probes_uids, probe_ids, rate, seconds)
    count = sum(n for _, n, _ in ticks)
    run.start_workers()
    time.sleep(0.5)
    probes = Probes()
    # The reference: the same probes as a plain MQTT subscriber gets them from the broker.
    delivered: list[float] = []

    def on_probe(_topic: str, payload: bytes, at: float) -> None:
        sent_at = probes.published.get(round(orjson.loads(payload)[0]["bt"], 3))
        if sent_at is not None:
            delivered.append(at - sent_at)

    topics = [device_topic(CITY.slug, uid) for uid in probes_uids]
    subscriber = Subscriber(run.port, topics, on_probe)
    publisher = Publisher(run.port)
    poller = threading.Thread(
        target=poll_states, args=(run.backend, run.url, probe_ids, probes), daemon=True
    )
    poller.start()
    with PgWaits(run.backend) as waits:
        meter = run.meter()
        meter.start()
        t0 = time.monotonic()
        for i, (blob, n, tick_marks) in enumerate(ticks):
            wait = t0 + i * POLL_S - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            at = time.monotonic()
            for device_id, bt in tick_marks:
                probes.sent(device_id, bt, at)
            publisher.send((blob, n))
        sent_s = time.monotonic() - t0
        meter.stop()
    deadline = time.monotonic() + 10
    while probes.outstanding() and time.monotonic() < deadline:
        time.sleep(0.05)
    probes.done.set()
    poller.join()
    publisher.close()
    subscriber.close()
    sent = sum(len(m) for _, _, m in ticks)
    if not probes.seen or not delivered:
        return float("inf"), float("inf"), 0, sent, float("inf")
    p50, p99 = percentiles(probes.seen)
    ref50, ref99 = percentiles(delivered)
    print(
        f"{run.label()} latency publish -> state visible, {rate_text(count / sent_s)} paced for "
        f"{sent_s:.0f} s, 1 message in {PROBE_EVERY} a probe: p50 {p50:.0f} ms, p99 {p99:.0f} ms "
        f"({len(probes.seen):,} of {sent:,} probes seen; device_states polled every "
        f"{POLL_S * 1000:.0f} ms)  | reference publish -> delivered to a plain subscriber: "
        f"p50 {ref50:.1f} ms, p99 {ref99:.1f} ms  | floor p99 <= {LATENCY_FLOOR_MS:.0f} ms: "
        f"{verdict(p99 <= LATENCY_FLOOR_MS and len(probes.seen) == sent)}"
    )
    diagnostics(run, meter, waits)
    return p50, p99, len(probes.seen), sent, ref99


# --- 4. memory --------------------------------------------------------------------------------


def memory(workdir: Path, devices: int) -> dict[str, float]:
    """Build a SQLite database of ``devices`` nodes and measure ingest over it in a child."""
    url = f"sqlite:///{workdir / 'million.db'}"
    started = time.perf_counter()
    db = SqlDatabase.connect(url)
    db.migrate()
    city = db.cities.add_city(CITY.with_changes(slug="million"))
    now = datetime.now(UTC)
    kind = DeviceKind.STREETLIGHT_NODE.value
    rows = [(city.pk, f"M-{n:07d}", kind, "", None, now) for n in range(devices)]
    columns = ("city_id", "uid", "kind", "firmware", "asset_id", "created_at")
    with db.engine.begin() as conn:
        insert_rows(conn, devices_table, columns, rows)
    db.close()
    del rows
    built_s = time.perf_counter() - started
    child = subprocess.run(  # noqa: S603 - our own script
        [
            sys.executable,
            str(Path(__file__).with_name("ingest_memory.py")),
            url,
            "million",
            str(devices),
        ],
        capture_output=True,
        check=False,
    )
    if child.returncode:
        sys.exit(f"the memory run failed:\n{child.stderr.decode()[-3000:]}")
    result: dict[str, float] = orjson.loads(child.stdout.splitlines()[-1])
    result["built_s"] = built_s
    return result


# --- main -------------------------------------------------------------------------------------


def main() -> int:  # noqa: PLR0915 - the bench's script, top to bottom
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="LIVE run; DRAIN backlog")
    parser.add_argument(
        "--drain-cap", type=float, default=0.0, help="stop DRAIN's clock after (default seconds)"
    )
    parser.add_argument(
        "--live-rate",
        type=float,
        default=-1,
        help="LIVE publisher msg/s (default 1.1 x --rate, so keeping up shows; 0 flat out)",
    )
    parser.add_argument("--quick", action="store_true", help="a 10 s smoke run, smaller fleets")
    parser.add_argument("--rate", type=int, default=20_000, help="target msg/s (DRAIN backlog)")
    parser.add_argument("--devices", type=int, default=20_000)
    parser.add_argument("--latency-rate", type=int, default=5_000)
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--memory-devices", type=int, default=1_000_000)
    parser.add_argument(
        "--burst", type=int, default=5_000, help="lamps that fail at once in a LIVE run (0: none)"
    )
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.latency_seconds = 10.0, 10.0
        args.memory_devices = min(args.memory_devices, 100_000)
    drain_cap = args.drain_cap or args.seconds
    # Offered a tenth above the floor: a worker that keeps up stores more than the floor.
    live_rate = 1.1 * args.rate if args.live_rate < 0 else args.live_rate
    reference_count = 50_000 if args.quick else 200_000
    print(
        f"ingest benchmark: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"{args.devices:,} streetlight nodes, SenML packs of 4-6 readings, QoS 1"
    )
    summary = Summary()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="signalight-bench-ingest-") as tmp:
        workdir = Path(tmp)

        # 1. the broker ceiling
        ceilings = {}
        for qos, inflight, protocol, label in (
            (1, 100, "mqttv311", "QoS 1 (-q 1 -M 100)"),
            (0, 100, "mqttv311", "QoS 0"),
        ):
            ceiling, cpu = broker_ceiling(
                workdir / f"ceiling{qos}", reference_count, qos, inflight, protocol
            )
            ceilings[qos] = ceiling
            print(
                f"broker ceiling {label}: mosquitto_pub -l -> mosquitto_sub, "
                f"{reference_count:,} messages: {rate_text(ceiling)}  (CPU: {cpu})"
            )
        ceiling = ceilings[1]
        summary.add("broker ceiling QoS 1 (reference)", rate_text(ceiling), "-", "-", None)
        summary.add("broker ceiling QoS 0 (information)", rate_text(ceilings[0]), "-", "-", None)

        # 2 and 3, per backend
        count = int(args.rate * args.seconds)
        base = float(int(time.time()) - 3600)
        begun = time.perf_counter()
        uids = fleet_uids(args.devices)
        prepared = int(max(count, live_rate * args.seconds * 1.05) if live_rate else 4 * count)
        chunks, _ = build_chunks(uids, prepared, base)
        size = sum(len(blob) for blob, _ in chunks) / prepared
        print(
            f"prepared {prepared:,} messages ({size:.0f} bytes each with the MQTT header) "
            f"in {time.perf_counter() - begun:.1f} s. DRAIN: {count:,} messages "
            f"({args.rate:,} msg/s x {args.seconds:.0f} s) queued for the workers' sessions "
            f"before they start; the clock stops when all are stored or at {drain_cap:.0f} s. "
            f"LIVE: a publisher "
            + (f"paced at {rate_text(live_rate)}" if live_rate else "flat out")
            + f" for {args.seconds:.0f} s while the workers run."
        )
        backends = [Backend("sqlite", workdir / "sqlite", args.devices)]
        pg_base = postgres_base()
        if pg_base:
            backends.append(Backend("postgresql", workdir / "pg", args.devices, pg_base))
        drain_chunks = chunks[: (count + CHUNK - 1) // CHUNK]
        # the same stream, but the first --burst lamps go out at half time: one alarm each
        rounds = int(live_rate * args.seconds / 2 / args.devices) if live_rate else 30
        burst_chunks = (
            build_chunks(uids, prepared, base, dead=args.burst, dead_from=rounds)[0]
            if args.burst
            else []
        )
        for backend in backends:
            backend.workdir.mkdir(parents=True)
            try:
                backend.prepare()
                for workers in (1, 2):
                    with Run(backend, workdir / "run", workers) as run:
                        rate = drain(run, drain_chunks, drain_cap, ceiling)
                        readings, states = backend.counts(run.url)
                        print(
                            f"{run.label()}   in the database: {readings:,} readings, "
                            f"{states:,} device states"
                        )
                    summary.add(
                        f"{backend.name} DRAIN, {workers} worker(s)",
                        rate_text(rate),
                        f"{rate / ceiling:.2f} x QoS 1 ceiling",
                        rate_text(THROUGHPUT_FLOOR),
                        rate >= THROUGHPUT_FLOOR,
                    )
                    with Run(backend, workdir / "run", workers) as run:
                        pub_rate, stored_rate, kept_up = live(run, chunks, args.seconds, live_rate)
                    summary.add(
                        f"{backend.name} LIVE, {workers} worker(s), stored",
                        rate_text(stored_rate),
                        f"published {rate_text(pub_rate)}" + ("" if kept_up else ", fell behind"),
                        rate_text(THROUGHPUT_FLOOR),
                        stored_rate >= THROUGHPUT_FLOOR,
                    )
                if args.burst:
                    # the configuration for the load: shared workers store, `detect` judges
                    with Run(backend, workdir / "run", 2, judged=True) as run:
                        pub_rate, stored_rate, kept_up = live(
                            run, burst_chunks, args.seconds, live_rate
                        )
                        alarms = wait_alarms(backend, run.url, args.burst)
                    summary.add(
                        f"{backend.name} LIVE, 2 workers + detect, {alarms:,} lamp alarms",
                        rate_text(stored_rate),
                        f"published {rate_text(pub_rate)}" + ("" if kept_up else ", fell behind"),
                        rate_text(THROUGHPUT_FLOOR),
                        stored_rate >= THROUGHPUT_FLOOR and alarms >= args.burst,
                    )
                    with Run(backend, workdir / "run", 1) as run:
                        pub_rate, stored_rate, kept_up = live(
                            run, burst_chunks, args.seconds, live_rate
                        )
                        alarms = wait_alarms(backend, run.url, args.burst)
                    summary.add(
                        f"{backend.name} LIVE, 1 worker, {alarms:,} lamp alarms at half time",
                        rate_text(stored_rate),
                        f"published {rate_text(pub_rate)}" + ("" if kept_up else ", fell behind"),
                        rate_text(THROUGHPUT_FLOOR),
                        stored_rate >= THROUGHPUT_FLOOR and alarms >= args.burst,
                    )
                with Run(backend, workdir / "run", 1) as run:
                    p50, p99, seen, sent, ref99 = latency(
                        run, args.latency_rate, args.latency_seconds
                    )
                summary.add(
                    f"{backend.name} latency p99 @ {args.latency_rate:,} msg/s",
                    f"{p99:.0f} ms (p50 {p50:.0f}, {seen:,}/{sent:,} probes)",
                    f"broker delivery p99 {ref99:.1f} ms",
                    f"<= {LATENCY_FLOOR_MS:.0f} ms",
                    p99 <= LATENCY_FLOOR_MS and seen == sent,
                )
            finally:
                backend.drop()
        del chunks, drain_chunks

        # 4. memory
        result = memory(workdir, args.memory_devices)
        devices = int(result["devices"])
        rss, baseline = result["fed_mb"], result["baseline_mb"]
        print(
            f"[sqlite] memory with {devices:,} devices (database built in "
            f"{result['built_s']:.0f} s): RSS {rss:,.0f} MB after one message per device "
            f"(peak {result['peak_mb']:,.0f} MB)  | reference: the same process before "
            f"loading {baseline:,.0f} MB  | floor {MEMORY_FLOOR_MB:,.0f} MB: "
            f"{verdict(result['peak_mb'] <= MEMORY_FLOOR_MB)}"
        )
        print(
            f"[sqlite]   directory load {result['load_s']:.1f} s, RSS +"
            f"{result['loaded_mb'] - baseline:,.0f} MB; its dict, keys and DeviceRefs "
            f"{result['directory_mb']:,.0f} MB ({result['directory_mb'] * 2**20 / devices:.0f} "
            f"bytes/device); then {result['messages']:,.0f} messages "
            f"({result['readings']:,.0f} readings) through IngestService.ingest in "
            f"{result['ingest_s']:.0f} s = {rate_text(result['messages'] / result['ingest_s'])} "
            f"in-process (no MQTT), RSS +{rss - result['loaded_mb']:,.0f} MB"
        )
        summary.add(
            f"sqlite RSS, {devices:,} devices (peak)",
            f"{result['peak_mb']:,.0f} MB",
            f"{baseline:,.0f} MB before loading; directory {result['directory_mb']:,.0f} MB",
            f"<= {MEMORY_FLOOR_MB:,.0f} MB",
            result["peak_mb"] <= MEMORY_FLOOR_MB,
        )
        summary.add(
            "in-process ingest (information)",
            rate_text(result["messages"] / result["ingest_s"]),
            f"sqlite, {devices:,}-device directory",
            "-",
            None,
        )
    summary.print()
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    below = summary.below()
    if below:
        print(f"below the floor: {'; '.join(below)}", file=sys.stderr)
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
