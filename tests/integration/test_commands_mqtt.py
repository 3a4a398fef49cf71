"""Commands through a private Mosquitto with the shipped config and ACL, across broker restarts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from signalight.adapters import mosquitto
from signalight.adapters.mqtt_commands import COMMANDS_USER
from signalight.adapters.mqtt_sim_nodes import MqttNodes
from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.command_batches import Target, TargetKind
from signalight.domain.commands import CommandKind, CommandState
from signalight.domain.topics import INGEST_USER, Channel, device_topic, device_username
from tests.integration.broker import NOT_AUTHORIZED, Broker, Client
from tests.services.command_rig import command_rig, operator, wait_for

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]

NODES = "test-nodes"  # speaks for the simulated nodes: reads every down, writes every ack
PASSWORDS = {COMMANDS_USER: "commands-secret", NODES: "nodes-secret", INGEST_USER: "i"}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    instance = Broker(tmp_path)
    entries = [(user, mosquitto.hash_password(secret)) for user, secret in PASSWORDS.items()]
    entries.append((device_username("ipoh", "A"), mosquitto.hash_password("device-a")))
    instance.passwd.write_text(mosquitto.password_file(entries))
    acl = mosquitto.acl_file(INGEST_USER, commands=COMMANDS_USER)
    acl += f"\nuser {NODES}\ntopic read signalight/+/+/down\ntopic write signalight/+/+/ack\n"
    instance.acl.write_text(acl)
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def test_the_acl_lets_only_the_command_account_write_down(broker: Broker) -> None:
    device = Client(broker.port, device_username("ipoh", "A"), "device-a")
    assert device.connect() == 0
    assert device.publish(device_topic("ipoh", "B", Channel.DOWN), b"{}") == NOT_AUTHORIZED
    service = Client(broker.port, COMMANDS_USER, PASSWORDS[COMMANDS_USER])
    assert service.connect() == 0
    assert service.subscribe(device_topic("ipoh", "A", Channel.ACK)) == 1
    assert service.publish(device_topic("ipoh", "A", Channel.DOWN), b"{}") in (0x00, 0x10)
    assert service.publish(device_topic("ipoh", "A", Channel.UP), b"[]") == NOT_AUTHORIZED
    service.disconnect()


def test_a_broker_restart_loses_no_command_and_runs_none_twice(
    broker: Broker, database: SqlDatabase
) -> None:
    users = {
        "link_user": (COMMANDS_USER, PASSWORDS[COMMANDS_USER]),
        "nodes_user": (NODES, PASSWORDS[NODES]),
    }
    with command_rig(database, 20, port=broker.port, **users) as rig:  # type: ignore[arg-type]
        user = operator(rig.city)
        expiry = rig.clock.now() + timedelta(days=1)
        # The nodes are away: the commands wait in their session through the restart.
        rig.nodes.stop()
        first = rig.service.request(
            rig.city, user, CommandKind.DIM, {"level": 30}, Target(TargetKind.CITY),
            expires_at=expiry,
        )  # fmt: skip
        assert rig.dispatch() == 20
        broker.stop()
        # While the broker is down a second request cannot reach it: its commands stay
        # sent, due again after the pause.
        second = rig.service.request(
            rig.city, user, CommandKind.READ, {}, Target(TargetKind.GROUP, ("east",)),
            expires_at=expiry,
        )  # fmt: skip
        report = rig.service.dispatch(rig.link)
        assert report.sent == 0
        assert report.link_error
        assert rig.progress(second.id).as_dict()["sent"] == 10
        broker.start()
        assert wait_for(rig.link.connected.is_set, 40)
        # The nodes come back: the same session, a new connection.
        rig.nodes = MqttNodes(
            broker.port, rig.city.slug, rig.fleet, client_id=NODES, username=NODES,
            password=PASSWORDS[NODES],
        )  # fmt: skip
        rig.nodes.start()
        assert wait_for(rig.nodes.connected.is_set, 10)
        progress = rig.settle(first.id, open_left=0, timeout=30)
        assert progress.as_dict()["acknowledged"] == 20
        # The commands paho held through the outage may have gone out on reconnecting; those
        # that did not are sent again once their pause is over. Either way each runs once.
        rig.advance(timedelta(minutes=2))
        rig.dispatch()
        assert rig.settle(second.id, open_left=0, timeout=30).as_dict()["acknowledged"] == 10
        time.sleep(0.3)
        runs = rig.fleet.runs()
        assert all(count == 1 for count in runs.values())
        assert len(runs) == 30
        for batch in (first, second):
            assert all(
                c.state is CommandState.ACKNOWLEDGED for c in rig.commands(batch.id).values()
            )
            rig.check_truth(batch.id)
