"""`signalight ingest` as an operator starts it: what it says when it cannot start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

SIGNALIGHT = Path(sys.executable).parent / "signalight"


def test_a_taken_metrics_port_is_one_clear_line_not_a_traceback(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            **os.environ,
            "SIGNALIGHT_DATA_DIR": str(tmp_path / "data"),
            "SIGNALIGHT_DATABASE_URL": "",
            "SIGNALIGHT_LOG_LEVEL": "WARNING",
            # Nothing listens there: ingest must stop at the metrics port, before connecting.
            "SIGNALIGHT_MQTT_HOST": "127.0.0.1",
            "SIGNALIGHT_MQTT_PORT": "9",
            "SIGNALIGHT_MQTT_PASSWORD": "unused",
            "COLUMNS": "80",  # a long message must not be broken over lines
        }
        done = subprocess.run(  # noqa: S603 - our own script
            [str(SIGNALIGHT), "ingest", "--metrics-port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert f"127.0.0.1:{port}" in errors[0]
    assert "in use" in errors[0]
    assert "--metrics-port" in errors[0]
    assert "ingest:" not in done.stdout  # it never got as far as starting


def test_a_tls_file_that_is_no_certificate_stops_ingest_with_one_line(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("this is not a certificate\n")
    env = {
        **os.environ,
        "SIGNALIGHT_DATA_DIR": str(tmp_path / "data"),
        "SIGNALIGHT_DATABASE_URL": "",
        "SIGNALIGHT_LOG_LEVEL": "WARNING",
        "SIGNALIGHT_MQTT_HOST": "127.0.0.1",
        "SIGNALIGHT_MQTT_PASSWORD": "unused",
        "SIGNALIGHT_MQTT_TLS_CA": str(not_pem),
        "COLUMNS": "80",
    }
    done = subprocess.run(  # noqa: S603 - our own script
        [str(SIGNALIGHT), "ingest", "--metrics-port", "0"],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert str(not_pem) in errors[0]
    assert "CA certificates" in errors[0]
    assert "ingest:" not in done.stdout
