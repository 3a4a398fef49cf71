"""`signalight command`: send with a progress bar, list, show; `serve` carrying them to nodes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from signalight.adapters.mqtt_sim_nodes import MqttNodes
from signalight.adapters.sql.database import SqlDatabase
from signalight.sim.command_nodes import Behaviour, NodeFleet
from tests.cli.cli_rig import run
from tests.conftest import unique
from tests.services.command_rig import add_lights, wait_for

SIGNALIGHT = Path(sys.executable).parent / "signalight"


def _city(env: Path, lights: int) -> SqlDatabase:
    assert run("city", "add", "Ipoh", "--country", "MY", "--lat", "4.6", "--lon", "101.1")[0] == 0
    db = SqlDatabase.connect(f"sqlite:///{env / 'data' / 'signalight.db'}")
    add_lights(db, db.cities.get_city("ipoh"), lights)
    return db


def test_send_list_and_show(env: Path) -> None:
    db = _city(env, 4)
    try:
        code, out, err = run(
            "command", "send", "ipoh", "dim", "--arg", "level=40", "--group", "east",
            "--why", "test", "--wait", "0.2",
        )  # fmt: skip
        assert code == 0, err
        assert "batch 1: dim to 2 devices (group east)" in out
        assert "queued 2" in out  # nothing carries them: no `serve` runs
        code, out, _ = run("command", "list", "ipoh", "--json")
        rows = [orjson.loads(line) for line in out.splitlines()]
        assert sorted(r["device"] for r in rows) == ["N-1", "N-3"]
        assert {r["requested_by"].startswith("cli:") for r in rows} == {True}
        code, out, _ = run("command", "show", "ipoh", rows[0]["id"])
        assert orjson.loads(out)["args"] == {"level": 40}
        code, out, _ = run("command", "show", "ipoh", "1")
        assert orjson.loads(out)["progress"]["queued"] == 2
        code, _, err = run("command", "send", "ipoh", "dim", "--arg", "level=400", "--all")
        assert code == 1
        assert "args.level" in err
        code, _, err = run("command", "send", "ipoh", "read", "--all", "--group", "east")
        assert code == 1
        assert "one of --asset" in err
    finally:
        db.close()


@pytest.mark.mqtt
def test_serve_carries_commands_to_nodes_and_back(env: Path) -> None:
    db = _city(env, 6)
    fleet = NodeFleet({"N-5": Behaviour.FAIL})
    nodes = MqttNodes(1883, "ipoh", fleet, client_id=unique("nodes"))
    nodes.start()
    account = unique("commands")
    process = subprocess.Popen(  # noqa: S603 - our own command
        [str(SIGNALIGHT), "command", "serve", "--interval", "0.1", "--metrics-port", "0",
         "--username", account],
        env={**os.environ, "SIGNALIGHT_MQTT_HOST": "127.0.0.1", "SIGNALIGHT_MQTT_PORT": "1883"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert wait_for(nodes.connected.is_set, 5)
        code, out, err = run("command", "send", "ipoh", "switch", "--arg", "on=false", "--all",
                             "--wait", "20")  # fmt: skip
        assert code == 0, err
        assert "acknowledged 5, expired 0" in out.replace("failed 1, ", ""), out
        assert "failed 1" in out
        assert fleet.nodes["N-0"].on is False
        assert set(fleet.runs().values()) == {1}
    finally:
        process.send_signal(signal.SIGTERM)
        _, err_text = process.communicate(timeout=20)
        nodes.stop()
        db.close()
    assert process.returncode == 0, err_text.decode()
