"""The dispatcher on its thread with the in-process link the demo uses: commands out, answers in."""

from __future__ import annotations

from datetime import timedelta

from signalight.adapters.clock import SystemClock
from signalight.adapters.command_loopback import LoopbackLink
from signalight.adapters.sql.commands import SqlCommandStore
from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.command_batches import Target, TargetKind
from signalight.domain.commands import CommandKind
from signalight.services.command_loop import CommandLoop
from signalight.services.commands import CommandService
from signalight.sim.command_nodes import Behaviour, NodeFleet
from tests.conftest import make_city
from tests.services.command_rig import add_lights, operator, wait_for


def test_the_loop_carries_a_batch_to_in_process_nodes(database: SqlDatabase) -> None:
    city = make_city(database)
    add_lights(database, city, 8)
    clock = SystemClock()
    service = CommandService(
        SqlCommandStore(database.engine), database.assets, database.cities, clock
    )
    fleet = NodeFleet({"N-6": Behaviour.FAIL, "N-7": Behaviour.SILENT})
    loop = CommandLoop(service, LoopbackLink(fleet), interval=0.05)
    loop.start()
    try:
        batch = service.request(
            city, operator(city), CommandKind.DIM, {"level": 25}, Target(TargetKind.CITY),
            expires_at=clock.now() + timedelta(hours=1),
        )  # fmt: skip
        assert wait_for(lambda: service.store.progress(batch.id).open == 1)
        progress = service.store.progress(batch.id).as_dict()
        assert (progress["acknowledged"], progress["failed"], progress["sent"]) == (6, 1, 1)
        assert fleet.nodes["N-0"].level == 25
        assert set(fleet.runs().values()) == {1}
    finally:
        loop.stop()
    assert loop.rounds > 0
