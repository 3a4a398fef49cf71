"""A rig for commands end to end: a city's lights in the test database, the command service on a
manual clock, its MQTT link and simulated nodes on a real Mosquitto."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from signalight.adapters.clock import ManualClock
from signalight.adapters.mqtt_commands import MqttCommandLink
from signalight.adapters.mqtt_sim_nodes import MqttNodes
from signalight.adapters.sql.commands import SqlCommandStore
from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.cities import City
from signalight.domain.command_batches import BatchProgress
from signalight.domain.commands import Command, CommandState, RetryPolicy
from signalight.domain.users import Role, User
from signalight.services.commands import CommandService
from signalight.sim.command_nodes import Behaviour, NodeFleet
from tests.conftest import make_city, unique

LOCAL_PORT = 1883  # the machine's Mosquitto (anonymous, on 127.0.0.1)
START = datetime.now(UTC).replace(microsecond=0)
POLICY = RetryPolicy(first_s=60, factor=2, max_s=3600)


def add_lights(db: SqlDatabase, city: City, count: int) -> list[str]:
    """``count`` streetlights SL-n with nodes N-n on cabinet C-1; returns the node ids."""
    records = [AssetRecord(kind=AssetKind.CABINET, code="C-1", lat=5.38, lon=100.4)]
    records += [
        AssetRecord(
            kind=AssetKind.STREETLIGHT,
            code=f"SL-{n}",
            lat=5.38,
            lon=100.4,
            cabinet="C-1",
            group="east" if n % 2 else "west",
            device=f"N-{n}",
        )
        for n in range(count)
    ]
    db.assets.upsert_assets(city.pk, records)
    return [f"N-{n}" for n in range(count)]


def operator(city: City, role: Role = Role.OPERATOR) -> User:
    """A user with ``role`` in the city."""
    return User(id=0, username=unique("op"), roles={city.pk: role})


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Whether ``check`` comes true within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


@dataclass
class Rig:
    """The service, its clock and link, the nodes and their ground truth."""

    db: SqlDatabase
    city: City
    clock: ManualClock
    service: CommandService
    link: MqttCommandLink
    nodes: MqttNodes
    fleet: NodeFleet

    def dispatch(self) -> int:
        """One dispatcher round; how many commands were published."""
        return self.service.dispatch(self.link).sent

    def advance(self, by: timedelta) -> None:
        """Move the service's and the nodes' clocks."""
        self.clock.advance(by)

    def progress(self, batch_id: int) -> BatchProgress:
        """The batch's counts by state."""
        return self.service.store.progress(batch_id)

    def settle(self, batch_id: int, open_left: int, timeout: float = 10.0) -> BatchProgress:
        """Wait until only ``open_left`` commands of the batch are still waiting."""
        wait_for(lambda: self.progress(batch_id).open <= open_left, timeout)
        time.sleep(0.2)  # answers that should not come have had their chance
        return self.progress(batch_id)

    def commands(self, batch_id: int) -> dict[str, Command]:
        """The batch's commands by device."""
        from signalight.domain.command_batches import CommandQuery

        found = self.service.store.query_commands(
            self.city.pk, CommandQuery(batch_id=batch_id, limit=10_000)
        )
        return {c.device_uid: c for c in found}

    def check_truth(self, batch_id: int) -> None:
        """No command done without its own answer, none run twice."""
        for device, command in self.commands(batch_id).items():
            node = self.fleet.nodes.get(device)
            answered = node.answered.get(command.id) if node else None
            if command.state is CommandState.ACKNOWLEDGED:
                assert answered is not None, f"{device}: acknowledged without an answer"
                assert str(answered[0]) == "ok", f"{device}: acknowledged on {answered}"
            assert self.fleet.runs()[command.id] <= 1, f"{command.id} ran twice"


@contextmanager
def command_rig(
    db: SqlDatabase,
    lights: int,
    behaviours: dict[str, Behaviour] | None = None,
    *,
    port: int = LOCAL_PORT,
    link_user: tuple[str, str] | None = None,
    nodes_user: tuple[str, str] | None = None,
) -> Iterator[Rig]:
    """A city with ``lights`` lights, the service and its link, and nodes answering, all started."""
    city = make_city(db)
    add_lights(db, city, lights)
    clock = ManualClock(START)
    service = CommandService(SqlCommandStore(db.engine), db.assets, db.cities, clock, policy=POLICY)
    user, password = link_user or (None, None)
    link = MqttCommandLink(
        "127.0.0.1",
        port,
        user,
        password,
        service.router.filters(),
        client_id=link_user[0] if link_user else unique("commands"),
        timeout=5.0,
    )
    fleet = NodeFleet(behaviours, now=lambda: clock.now().timestamp())
    node_user, node_password = nodes_user or (None, None)
    nodes = MqttNodes(
        port,
        city.slug,
        fleet,
        client_id=nodes_user[0] if nodes_user else unique("nodes"),
        username=node_user,
        password=node_password,
    )
    nodes.start()
    link.start(service.handle_answers)
    assert link.wait_connected(5)
    assert wait_for(nodes.connected.is_set, 5)
    time.sleep(0.2)  # the subscriptions' SUBACKs
    try:
        yield Rig(db, city, clock, service, link, nodes, fleet)
    finally:
        link.stop()
        nodes.stop()
