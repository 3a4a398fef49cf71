"""Chaos run: ingest under steady load while a worker is killed, the broker and database restarted.

Not a speed test: it counts. For each store (SQLite, and a private
PostgreSQL cluster the run starts in a temporary directory so that it can
crash it without disturbing anyone) and each way of running ingest (one
worker; two workers on an MQTT 5 shared subscription), a publisher sends a
steady ``--rate`` of messages to a city of its own per event while, a third
of the way in, one event happens:

- kill: an ingest worker is SIGKILLed, then started again;
- broker: Mosquitto is stopped cleanly (it saves its store) and started
  again at once, as ``systemctl restart`` does;
- postgres: PostgreSQL is stopped with ``pg_ctl -m immediate`` (a crash:
  connections cut mid-transaction, no checkpoint) and started again.

Every message has its own (device, time), so the city's stored rows are
counted exactly: published (messages the broker accepted), stored, lost
(accepted and not stored) and duplicated (a message stored twice, which the
key forbids, or counted twice in the hourly rollups: their sample counts
must equal the readings stored). Floor: 0 lost and 0 duplicated on every
row; the run exits 1 if a row fails.

The "0x10" column is the known case of docs/operations.md: Mosquitto 2.0
does not save shared subscriptions, so after a broker restart it drops
what devices publish until a shared worker subscribes again, answering
MQTT 5 publishers 0x10 ("no matching subscribers"). The publisher here
does what a device should: it sends such a message again. The column counts
the messages it had to send again; with one worker (an ordinary
subscription, saved with the session) it stays 0.

The brokers, the workers (`signalight ingest` processes), the publisher and
the private PostgreSQL are the integration tests' own
(tests/integration/ingest_rig.py and chaos_rig.py).

Run with ``make bench`` or ``python bench/chaos.py [--rate 2000] [--seconds 30] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# The rig lives with the integration tests; this script runs from bench/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signalight.adapters.sql.database import SqlDatabase
from tests.conftest import make_city
from tests.integration.chaos_rig import SteadyLoad, Tally, tally, wait_stored
from tests.integration.ingest_rig import (
    IngestProcess,
    PrivatePostgres,
    add_fleet,
    messages,
    start_broker,
)

GROUP = "signalight-ingest"
KILL, BROKER, POSTGRES = "kill", "broker", "postgres"
EVENTS = {
    KILL: "worker 1 SIGKILLed, restarted",
    BROKER: "Mosquitto restarted",
    POSTGRES: "PostgreSQL crashed (immediate), restarted",
}


@dataclass(frozen=True)
class Row:
    """One event's outcome."""

    store: str
    workers: int
    event: str
    tally: Tally
    refused: int  # messages the broker answered 0x10 and the publisher sent again
    caught_up_s: float  # from the end of publishing until all were stored
    note: str = ""

    @property
    def ok(self) -> bool:
        """The floor: nothing lost, nothing duplicated, every worker still running."""
        return self.tally.lost == 0 and self.tally.duplicated == 0 and not self.note


@dataclass
class Store:
    """A database for the run, and how to crash and restart it (None: not this store)."""

    name: str
    url: str
    restart: Callable[[float], None] | None = None


def run_workers(
    store: Store,
    workdir: Path,
    workers: int,
    events: list[str],
    args: argparse.Namespace,
) -> list[Row]:
    """One broker and ``workers`` ingest workers; each event in turn under the steady load."""
    db = SqlDatabase.connect(store.url)
    count = int(args.rate * args.seconds)
    start = time.time() - 86_400  # a day ago: inside the accepted past
    cities = {}
    for event in events:
        city = make_city(db, slug=f"chaos-{store.name}-{workers}-{event}")
        cities[event] = (city, messages(city, add_fleet(db, city, args.devices), count, start))
    group = GROUP if workers > 1 else None
    broker = start_broker(workdir / "broker", workers=workers, share_group=group)
    env = {"SIGNALIGHT_MQTT_SHARE_GROUP": GROUP} if group else {}
    pool = [
        IngestProcess(workdir, store.url, broker.port, env=env, worker=n)
        for n in range(1, workers + 1)
    ]
    rows = []
    try:
        for process in pool:
            process.start()
        for event in events:
            city, stream = cities[event]
            load = SteadyLoad(broker.port, stream, args.rate)
            load.start()
            time.sleep(args.seconds / 3)
            if event == KILL:
                pool[0].kill()
                time.sleep(args.down)
                pool[0].start()
            elif event == BROKER:
                # Every message in flight is answered first, so that none is in doubt.
                load.pause()
                broker.stop()  # then at once, as `systemctl restart mosquitto` does
                broker.start()
                load.resume(broker.port)
            elif store.restart is not None:
                store.restart(args.down)
            finished = load.finish(timeout=args.seconds * 4 + 120)
            ended = time.monotonic()
            wait_stored(db, city, load.accepted, timeout=args.drain)
            caught_up = time.monotonic() - ended
            time.sleep(1.0)  # a redelivery stored or rolled up twice would show by now
            counted = tally(db, city, load.accepted)
            load.close()
            dead = [str(n) for n, p in enumerate(pool, start=1) if not p.alive()]
            note = "" if finished else "the publisher did not finish"
            if dead:
                note = f"worker {', '.join(dead)} exited"
            rows.append(Row(store.name, workers, event, counted, load.refused, caught_up, note))
            print(describe(rows[-1]), flush=True)
    finally:
        for process in pool:
            process.stop()
        broker.stop()
        db.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return rows


def describe(row: Row) -> str:
    """One row on one line, as it finishes."""
    t = row.tally
    return (
        f"[{row.store}, {row.workers} worker{'s' if row.workers > 1 else ''}] "
        f"{EVENTS[row.event]}: published {t.published:,}, stored {t.stored:,}, "
        f"lost {t.lost:,}, duplicated {t.duplicated:,} (rollup samples {t.rolled:,} for "
        f"{t.readings:,} readings), sent again after 0x10 {row.refused:,}, "
        f"all stored {row.caught_up_s:.1f} s after publishing ended"
        + (f"; {row.note}" if row.note else "")
    )


def table(rows: list[Row]) -> str:
    """The summary: one row per event, PASS or FAIL against the floor."""
    header = (
        "store",
        "workers",
        "event",
        "published",
        "stored",
        "lost",
        "duplicated",
        "rollup = readings",
        "0x10 re-sent",
        "all stored after",
        "floor 0/0",
    )
    cells = [header]
    for row in rows:
        t = row.tally
        cells.append(
            (
                row.store,
                "1" if row.workers == 1 else f"{row.workers} (shared)",
                EVENTS[row.event],
                f"{t.published:,}",
                f"{t.stored:,}",
                f"{t.lost:,}",
                f"{t.duplicated:,}",
                "yes" if t.rolled == t.readings else f"no ({t.rolled:,}/{t.readings:,})",
                f"{row.refused:,}",
                f"{row.caught_up_s:.1f} s",
                ("PASS" if row.ok else "FAIL") + (f" ({row.note})" if row.note else ""),
            )
        )
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )


def private_postgres() -> tuple[PrivatePostgres, Store]:
    """A PostgreSQL cluster of the run's own, migrated, and how to crash and restart it."""
    server = PrivatePostgres()
    server.start()
    db = SqlDatabase.connect(server.url)
    db.migrate()
    db.close()

    def restart(down: float) -> None:
        server.stop("immediate")
        time.sleep(down)
        server.start()

    return server, Store("postgresql", server.url, restart)


def main() -> None:
    """Run every event on every store and way of running ingest; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rate", type=float, default=2000.0, help="messages/s published")
    parser.add_argument("--seconds", type=float, default=30.0, help="publishing per event")
    parser.add_argument("--devices", type=int, default=1000, help="devices per event's city")
    parser.add_argument(
        "--down", type=float, default=2.0, help="seconds a killed worker or database stays down"
    )
    parser.add_argument("--drain", type=float, default=300.0, help="wait this long for the store")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--quick", action="store_true", help="10 s per event")
    args = parser.parse_args()
    if args.quick:
        args.seconds = 10.0
    print(
        f"chaos run: {os.cpu_count()} cores, {args.rate:,.0f} msg/s for {args.seconds:.0f} s "
        f"per event (the event a third of the way in; a killed worker or database "
        f"{args.down:.0f} s down), "
        f"{args.devices:,} devices per event, SenML packs of 5 readings, QoS 1",
        flush=True,
    )
    started = time.monotonic()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="signalight-chaos-") as tmp:
        workdir = Path(tmp)
        lite = Store("sqlite", f"sqlite:///{workdir / 'chaos.db'}")
        db = SqlDatabase.connect(lite.url)
        db.migrate()
        db.close()
        for workers in (1, 2):
            rows += run_workers(lite, workdir / f"sqlite-{workers}", workers, [KILL, BROKER], args)
        if not args.no_postgres:
            server, pg = private_postgres()
            try:
                for workers in (1, 2):
                    rows += run_workers(
                        pg, workdir / f"pg-{workers}", workers, [KILL, BROKER, POSTGRES], args
                    )
            finally:
                server.stop()
                server.remove()
    print(
        "\nsummary (published: messages the broker accepted; lost and duplicated in the store;"
        " all stored after: from the end of publishing)"
    )
    print(table(rows))
    failed = [row for row in rows if not row.ok]
    print(
        f"\n{len(rows) - len(failed)} of {len(rows)} rows PASS; {time.monotonic() - started:.0f} s"
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
