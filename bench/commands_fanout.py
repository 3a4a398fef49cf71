"""A command fanned out to 100,000 devices through a local Mosquitto, every answer matched.

One request (dim to 40 %, the whole city) becomes 100,000 commands stored
with their batch; ``CommandService.dispatch`` publishes them through the MQTT
link (QoS 1, waiting for the broker's PUBACKs) while simulated nodes, in a
process of their own, run each command and answer on its ``ack`` topic; the
link hands the answers to ``handle_answers``, which matches each to its
command by id and device. Figures:

1. Request: storing the batch and its commands.
2. Sent: commands published per second (from the first round to the last
   PUBACK), beside the reference from the same run: raw paho-mqtt QoS 1
   publishing of as many messages of the same size to a subscribed client,
   waiting for every PUBACK. Floor: 5,000 commands/s.
3. Answered: from the first round until every command is acknowledged, and
   the check that every answer was matched (acknowledged = devices, no stray,
   each command run once by its node: the nodes' ground truth).

The broker is a private Mosquitto on a free port with the shipped settings
that matter here (persistence off, no queue limit, 1,000 in flight), or
``--broker host:port``. The database is SQLite in a temporary directory, or
``--database-url`` (PostgreSQL).

Usage: python bench/commands_fanout.py [--devices 100000] [--quick]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from signalight.adapters.clock import SystemClock
from signalight.adapters.mqtt_commands import MqttCommandLink
from signalight.adapters.mqtt_sim_nodes import MqttNodes
from signalight.adapters.sql.commands import SqlCommandStore
from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.cities import City
from signalight.domain.command_batches import CommandQuery, Target, TargetKind
from signalight.domain.commands import CommandKind, RetryPolicy, encode_down, new_command_id
from signalight.domain.users import Role, User
from signalight.services.commands import CommandService
from signalight.sim.command_nodes import NodeFleet

FLOOR_SENT = 5_000.0  # commands/s


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_broker(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 1000\n"
        "set_tcp_nodelay true\nlog_dest none\n"
    )
    process = subprocess.Popen(["mosquitto", "-c", str(conf)])  # noqa: S603, S607
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            time.sleep(0.05)
        else:
            return process, port
    process.kill()
    raise SystemExit("mosquitto did not start")


def _cpu(broker_pid: int | None) -> tuple[float, float]:
    """CPU seconds used so far by this process and by the broker (0 if not ours)."""
    broker = 0.0
    if broker_pid is not None:
        fields = Path(f"/proc/{broker_pid}/stat").read_text().rsplit(")", 1)[1].split()
        broker = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return time.process_time(), broker


def _paho(client_id: str) -> paho.Client:
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    return client


def run_nodes(port: int, slug: str, sink_slug: str, ready: Any, done: Any, out: Any) -> None:  # noqa: ANN401
    """The nodes' process: answers every command of ``slug``; takes the reference's messages."""
    fleet = NodeFleet()
    nodes = MqttNodes(port, slug, fleet, client_id=f"bench-nodes-{slug}")
    sink_count = [0]
    sink = _paho(f"bench-sink-{slug}")

    def on_sink(*_args: object) -> None:
        sink_count[0] += 1

    sink.on_message = on_sink
    sink.connect("127.0.0.1", port)
    sink.subscribe(f"signalight/{sink_slug}/+/down", qos=1)
    sink.loop_start()
    nodes.start()
    while not nodes.connected.is_set():
        time.sleep(0.01)
    time.sleep(0.3)
    ready.set()
    done.wait()
    runs = fleet.runs()
    out.put(
        {
            "received": sum(fleet.received.values()),
            "ran": sum(runs.values()),
            "ran_twice": sum(1 for n in runs.values() if n > 1),
            "sink": sink_count[0],
        }
    )
    nodes.stop()
    sink.loop_stop()


def reference(port: int, sink_slug: str, count: int, size: int) -> float:
    """Raw paho-mqtt QoS 1: ``count`` messages of ``size`` bytes, all PUBACKed; messages/s."""
    acked = [0]
    finished = threading.Event()
    client = _paho("bench-reference")
    # No more in flight than the broker's Receive Maximum: beyond it Mosquitto drops
    # the connection (a protocol error) and the reference never finishes.
    client.max_inflight_messages_set(1000)

    def on_publish(*_args: object) -> None:
        acked[0] += 1
        if acked[0] == count:
            finished.set()

    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    payload = b"x" * size
    started = time.perf_counter()
    for n in range(count):
        # paho numbers queued messages too, and its 65,535 packet ids wrap: more than
        # that queued at once overwrite each other (lost, and never PUBACKed).
        while n - acked[0] >= 30_000:
            time.sleep(0.001)
        client.publish(f"signalight/{sink_slug}/N-{n:06d}/down", payload, qos=1)
    finished.wait(120)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return count / elapsed


def setup(db: SqlDatabase, devices: int) -> City:
    slug = f"bench-{new_command_id()[:8]}"
    city = db.cities.add_city(
        City(slug=slug, name="Bench", country="MY", timezone="Asia/Kuala_Lumpur",
             currency="MYR", lat=5.38, lon=100.4)
    )  # fmt: skip
    records = [
        AssetRecord(
            kind=AssetKind.STREETLIGHT, code=f"SL-{n:06d}", device=f"N-{n:06d}", lat=5.38, lon=100.4
        )
        for n in range(devices)
    ]
    for start in range(0, devices, 20_000):
        db.assets.upsert_assets(city.pk, records[start : start + 20_000])
    return city


def main() -> int:  # noqa: PLR0915 - the bench's script, top to bottom
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 devices")
    parser.add_argument("--broker", help="host:port of a broker to use (default: a private one)")
    parser.add_argument("--database-url", help="default: SQLite in a temporary directory")
    options = parser.parse_args()
    devices = 10_000 if options.quick else options.devices
    workdir = Path(tempfile.mkdtemp(prefix="bench-commands-"))
    broker = None
    try:
        if options.broker:
            port = int(options.broker.rpartition(":")[2])
        else:
            broker, port = start_broker(workdir)
        url = options.database_url or f"sqlite:///{workdir / 'bench.db'}"
        db = SqlDatabase.connect(url)
        db.migrate()
        print(f"{devices:,} devices; broker 127.0.0.1:{port}; database {db.url}")
        started = time.perf_counter()
        city = setup(db, devices)
        print(f"inventory: {time.perf_counter() - started:.1f} s")

        ctx = mp.get_context("spawn")
        ready, done, out = ctx.Event(), ctx.Event(), ctx.Queue()
        sink_slug = f"{city.slug}-sink"
        nodes = ctx.Process(target=run_nodes, args=(port, city.slug, sink_slug, ready, done, out))
        nodes.start()
        if not ready.wait(30):
            raise SystemExit("the simulated nodes did not connect")

        service = CommandService(
            SqlCommandStore(db.engine), db.assets, db.cities, SystemClock(),
            policy=RetryPolicy(first_s=60, max_s=60),
        )  # fmt: skip
        admin = User(id=0, username="bench", roles={city.pk: Role.ADMIN})
        t0 = time.perf_counter()
        batch = service.request(
            city, admin, CommandKind.DIM, {"level": 40}, Target(TargetKind.CITY),
            expires_at=SystemClock().now() + timedelta(hours=1), why="bench",
        )  # fmt: skip
        request_s = time.perf_counter() - t0
        if db.engine.dialect.name == "postgresql":
            # What autovacuum does for a table grown by a fan-out's rows (a test server
            # may run without it): without statistics the planner reads every waiting
            # command each round, where the index on next_at reads a round's worth.
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE commands")
        first_id = service.store.query_commands(city.pk, CommandQuery(limit=1))[0].id
        print(f"request: {batch.total:,} commands stored in {request_s:.2f} s")

        link = MqttCommandLink(
            "127.0.0.1", port, None, None, service.router.filters(),
            client_id="bench-commands", timeout=60,
        )  # fmt: skip
        link.start(service.handle_answers)
        if not link.wait_connected(10):
            raise SystemExit("the command link did not connect")
        time.sleep(0.3)
        first = time.perf_counter()
        cpu = _cpu(broker.pid if broker else None)
        sent = 0
        while sent < batch.total:
            report = service.dispatch(link)
            sent += report.sent
            if report.link_error:
                raise SystemExit(report.link_error)
            if not report.sent:
                break
        sent_s = time.perf_counter() - first
        cpu_sent = _cpu(broker.pid if broker else None)
        deadline = time.monotonic() + 300
        while service.store.progress(batch.id).open and time.monotonic() < deadline:
            time.sleep(0.05)
        answered_s = time.perf_counter() - first
        progress = service.store.progress(batch.id)
        strays = service.store.query_strays(city.pk, limit=1000)
        link.stop()
        size = len(encode_down(service.store.get_command(city.pk, first_id), SystemClock().now()))
        ref_rate = reference(port, sink_slug, batch.total, size)
        time.sleep(0.5)
        done.set()
        truth = out.get(timeout=60)
        nodes.join(30)

        sent_rate = sent / sent_s
        acked = progress.as_dict()["acknowledged"]
        matched = acked == batch.total and not strays and truth["ran"] == batch.total
        print()
        verdict = "PASS" if sent_rate >= FLOOR_SENT else "BELOW"
        service_cpu = (cpu_sent[0] - cpu[0]) / sent_s
        broker_cpu = (cpu_sent[1] - cpu[1]) / sent_s
        print(
            f"sent       {sent_rate:>10,.0f} commands/s  ({sent:,} in {sent_s:.2f} s)"
            f"   floor {FLOOR_SENT:,.0f}: {verdict}"
        )
        print(
            f"           CPU while sending (% of one core): service {service_cpu:.0%},"
            f" broker {broker_cpu:.0%}; {os.cpu_count()} cores"
        )
        print(
            f"reference  {ref_rate:>10,.0f} messages/s  raw paho QoS 1 of {size} bytes,"
            f" the same run (sent is {sent_rate / ref_rate:.1f}x it)"
        )
        print(
            f"answered   {batch.total / answered_s:>10,.0f} commands/s  (all {acked:,}"
            f" acknowledged {answered_s:.2f} s after the first round)"
        )
        print(
            f"matched    {'every answer to its command' if matched else 'NOT ALL'}:"
            f" acknowledged {acked:,} of {batch.total:,}; strays {len(strays)};"
            f" nodes received {truth['received']:,}, ran {truth['ran']:,},"
            f" ran twice {truth['ran_twice']}; reference sink got {truth['sink']:,}"
        )
        db.close()
        return 0 if matched and sent_rate >= FLOOR_SENT else 1
    finally:
        if broker is not None:
            broker.terminate()
            broker.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
