"""Retention runs in `serve` and in `ingest`, and a failing prune stops neither."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from signalight.adapters.sql.database import SqlDatabase
from signalight.container import build
from signalight.settings import Settings
from tests.adapters.test_sql_telemetry import node, pack
from tests.conftest import make_city

SIGNALIGHT = Path(sys.executable).parent / "signalight"
DAY = 86_400.0
OK = 'signalight_retention_prunes_total{outcome="ok"} 1.0'
FAILED = 'signalight_retention_prunes_total{outcome="failed"} 1.0'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def seeded(data_dir: Path) -> tuple[str, float, float]:
    """A database in ``data_dir`` with a reading 40 days old and one a day old."""
    container = build(Settings(data_dir=data_dir))
    try:
        db = container.db
        device = node(db, make_city(db))
        now = time.time()
        old, recent = now - 40 * DAY, now - DAY
        db.telemetry.write([pack(device, old, 10.0, 1.0), pack(device, recent, 20.0, 2.0)], [])
        return db.url, old, recent
    finally:
        container.close()


def report_times(url: str) -> set[float]:
    db = SqlDatabase.connect(url)
    try:
        with db.engine.connect() as conn:
            return {float(t) for t in conn.execute(text("SELECT time FROM reports")).scalars()}
    finally:
        db.close()


@contextmanager
def running(
    args: list[str], data_dir: Path, log: Path, extra: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "SIGNALIGHT_DATA_DIR": str(data_dir),
        "SIGNALIGHT_DATABASE_URL": "",
        "SIGNALIGHT_RETENTION_DAYS": "30",
        "SIGNALIGHT_NOTIFY": "false",
        "SIGNALIGHT_LOG_LEVEL": "INFO",
        "SIGNALIGHT_MQTT_PASSWORD": "unused",
        **(extra or {}),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own script
            [str(SIGNALIGHT), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def metrics_until(
    url: str, process: subprocess.Popen[bytes], log: Path, done: Callable[[str], bool]
) -> str:
    """Read ``url`` until ``done`` holds of the text; fail with the process's log if it dies."""
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, f"it stopped:\n{log.read_text()[-3000:]}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
                body: str = response.read().decode()
            if done(body):
                return body
        except (urllib.error.URLError, ConnectionError):
            pass  # not listening yet
        assert time.monotonic() < deadline, f"not seen in time:\n{log.read_text()[-3000:]}"
        time.sleep(0.1)


def test_serve_deletes_readings_past_retention(tmp_path: Path) -> None:
    data = tmp_path / "data"
    url, _, recent = seeded(data)
    port = free_port()
    log = tmp_path / "serve.log"
    with running(["serve", "--port", str(port)], data, log) as process:
        metrics_until(f"http://127.0.0.1:{port}/metrics", process, log, lambda m: OK in m)
        assert report_times(url) == {recent}
    # Uvicorn shuts the app down, then dies of the SIGTERM it caught, as it was sent.
    assert process.returncode in (0, -signal.SIGTERM), log.read_text()[-3000:]
    assert "Application shutdown complete" in log.read_text()


def test_ingest_goes_on_when_a_prune_fails(tmp_path: Path) -> None:
    data = tmp_path / "data"
    url, old, recent = seeded(data)
    db = SqlDatabase.connect(url)
    with db.engine.begin() as conn:  # a real failure: a table the prune deletes from is gone
        conn.execute(text("ALTER TABLE dead_letters RENAME TO dead_letters_away"))
    db.close()
    port = free_port()
    log = tmp_path / "ingest.log"
    # No broker listens on port 9: ingest keeps trying to connect, and runs meanwhile.
    broker = {"SIGNALIGHT_MQTT_HOST": "127.0.0.1", "SIGNALIGHT_MQTT_PORT": "9"}
    args = ["ingest", "--metrics-port", str(port)]
    with running(args, data, log, broker) as process:
        body = metrics_until(f"http://127.0.0.1:{port}/", process, log, lambda m: FAILED in m)
        assert OK not in body
        assert process.poll() is None  # still ingesting
    assert process.returncode == 0, log.read_text()[-3000:]
    assert report_times(url) == {old, recent}
    assert "retention: deleting old raw readings failed" in log.read_text()
