"""Commands end to end over the real Mosquitto: nodes that obey, fail, stay silent or sleep a day;
forged, repeated and late answers. No command is done without its own answer, none runs twice."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.command_batches import Target, TargetKind
from signalight.domain.commands import AckStatus, CommandKind, CommandState, encode_ack
from signalight.domain.errors import InvalidInputError, PermissionDeniedError
from signalight.domain.topics import Channel, device_topic
from signalight.domain.users import Role
from signalight.sim.command_nodes import Behaviour
from tests.services.command_rig import command_rig, operator, wait_for

pytestmark = pytest.mark.mqtt

CITY = Target(TargetKind.CITY)


def test_obeying_failing_silent_and_offline_nodes(database: SqlDatabase) -> None:
    behaviours = {
        "N-7": Behaviour.FAIL,
        "N-8": Behaviour.SILENT,
        "N-9": Behaviour.OFFLINE,
    }
    with command_rig(database, 10, behaviours) as rig:
        batch = rig.service.request(
            rig.city, operator(rig.city), CommandKind.DIM, {"level": 40}, CITY,
            expires_at=rig.clock.now() + timedelta(days=2), why="test",
        )  # fmt: skip
        assert batch.total == 10
        assert rig.dispatch() == 10
        progress = rig.settle(batch.id, open_left=2)
        assert progress.as_dict() == {
            "queued": 0, "sent": 2, "acknowledged": 7, "failed": 1, "expired": 0,
        }  # fmt: skip
        by_device = rig.commands(batch.id)
        assert by_device["N-7"].reason == "relay stuck"
        assert by_device["N-0"].ack_status is AckStatus.OK
        assert rig.fleet.nodes["N-0"].level == 40
        # Nothing is due before the pause: the waiting ones are not sent again yet.
        assert rig.dispatch() == 0
        # A day passes with N-9 asleep and N-8 silent: resent with backoff, the same ids.
        for _ in range(12):
            rig.advance(timedelta(hours=2))
            rig.dispatch()
        time.sleep(0.3)
        silent, asleep = by_device["N-8"], by_device["N-9"]
        assert rig.commands(batch.id)["N-8"].attempts > 3
        assert rig.fleet.received[silent.id] == rig.commands(batch.id)["N-8"].attempts
        assert rig.fleet.runs()[silent.id] == 1  # every copy came; it ran once
        assert rig.progress(batch.id).open == 2
        # N-9 wakes: every copy the broker kept reaches it; it runs the command once.
        rig.fleet.behaviours["N-9"] = Behaviour.OBEY
        assert rig.nodes.deliver_held() == rig.commands(batch.id)["N-9"].attempts
        assert wait_for(lambda: rig.commands(batch.id)["N-9"].state is CommandState.ACKNOWLEDGED)
        assert rig.fleet.runs()[asleep.id] == 1
        # Its answers to the other copies are duplicates, kept as strays on the command.
        time.sleep(0.3)
        assert rig.commands(batch.id)["N-9"].stray_acks == rig.fleet.received[asleep.id] - 1
        # The silent node's command expires; nothing ever reported it done.
        rig.advance(timedelta(days=2))
        rig.dispatch()
        final = rig.commands(batch.id)
        assert final["N-8"].state is CommandState.EXPIRED
        assert rig.progress(batch.id).done
        rig.check_truth(batch.id)


def test_forged_repeated_unknown_late_and_unreadable_answers_end_nothing(
    database: SqlDatabase,
) -> None:
    behaviours = {"N-0": Behaviour.OFFLINE, "N-1": Behaviour.OFFLINE}
    with command_rig(database, 3, behaviours) as rig:
        user = operator(rig.city)
        batch = rig.service.request(
            rig.city, user, CommandKind.SWITCH, {"on": False}, CITY,
            expires_at=rig.clock.now() + timedelta(hours=1),
        )  # fmt: skip
        rig.dispatch()
        rig.settle(batch.id, open_left=2)
        commands = rig.commands(batch.id)
        a, b, c = commands["N-0"], commands["N-1"], commands["N-2"]
        assert c.state is CommandState.ACKNOWLEDGED
        slug = rig.city.slug

        def ack(device: str, payload: bytes) -> None:
            rig.nodes.publish(device_topic(slug, device, Channel.ACK), payload)

        ack("N-2", encode_ack(a.id, AckStatus.OK))  # another device claims A's command
        ack("N-2", encode_ack(c.id, AckStatus.OK))  # its own, again
        ack("N-2", encode_ack("b1a5c0de-0000-4000-8000-000000000000", AckStatus.OK))
        ack("N-2", b'{"id": 5}')
        assert wait_for(lambda: len(rig.service.store.query_strays(rig.city.pk)) == 4)
        reasons = sorted(s.reason for s in rig.service.store.query_strays(rig.city.pk))
        assert reasons == ["duplicate", "malformed", "unknown_id", "wrong_device"]
        assert rig.commands(batch.id)["N-0"].state is CommandState.SENT  # not done by N-2's word
        # B's answer comes after its expiry: late, and B is expired, not done.
        rig.advance(timedelta(hours=2))
        ack("N-1", encode_ack(b.id, AckStatus.OK))
        assert wait_for(lambda: rig.commands(batch.id)["N-1"].stray_acks == 1)
        rig.dispatch()
        final = rig.commands(batch.id)
        assert final["N-1"].state is CommandState.EXPIRED
        assert final["N-0"].state is CommandState.EXPIRED
        assert final["N-0"].stray_acks == 1
        strays = rig.service.strays(rig.city, user)
        assert {s.reason for s in strays} == {
            "duplicate", "malformed", "unknown_id", "wrong_device", "late",
        }  # fmt: skip
        assert "N-2" in {s.device_uid for s in strays if s.command_id == a.id}
        rig.check_truth(batch.id)


def test_roles_and_targets(database: SqlDatabase) -> None:
    with command_rig(database, 4) as rig:
        city = rig.city
        crew = operator(city, Role.CREW)
        one = Target(TargetKind.ASSETS, ("SL-1",))
        batch = rig.service.request(city, crew, CommandKind.SWITCH, {"on": False}, one)
        assert batch.total == 1
        attempts: list[tuple[CommandKind, dict[str, object], Target]] = [
            (CommandKind.DIM, {"level": 5}, one),
            (CommandKind.SWITCH, {"on": True}, Target(TargetKind.ASSETS, ("SL-1", "SL-2"))),
            (CommandKind.SWITCH, {"on": True}, Target(TargetKind.CABINET, ("C-1",))),
        ]
        for kind, args, target in attempts:
            with pytest.raises(PermissionDeniedError, match="crew"):
                rig.service.request(city, crew, kind, args, target)
        with pytest.raises(PermissionDeniedError):
            rig.service.request(city, operator(city, Role.VIEWER), CommandKind.READ, {}, one)
        op = operator(city)
        east = rig.service.request(
            city, op, CommandKind.READ, {}, Target(TargetKind.GROUP, ("east",))
        )
        assert east.total == 2
        cabinet = rig.service.request(
            city, op, CommandKind.CLOCK, {}, Target(TargetKind.CABINET, ("C-1",))
        )
        assert cabinet.total == 4
        with pytest.raises(InvalidInputError, match="no asset 'SL-99'"):
            rig.service.request(
                city, op, CommandKind.READ, {}, Target(TargetKind.ASSETS, ("SL-99",))
            )
        cabinet_only = Target(TargetKind.ASSETS, ("C-1",))
        with pytest.raises(InvalidInputError, match="no asset there has a device"):
            rig.service.request(city, op, CommandKind.READ, {}, cabinet_only)
        # A lamp's command to the city reaches its lamps only, not the cabinet's meter.
        rig.db.assets.upsert_assets(
            city.pk,
            [AssetRecord(kind=AssetKind.CABINET, code="C-1", lat=5.38, lon=100.4, device="M-1")],
        )
        whole = Target(TargetKind.CITY)
        lamps = rig.service.request(city, op, CommandKind.DIM, {"level": 9}, whole)
        assert lamps.total == 4
        everyone = rig.service.request(city, op, CommandKind.READ, {}, whole)
        assert everyone.total == 5
        # The clock command carries the time of sending, and the node sets its clock to it.
        rig.dispatch()
        rig.settle(cabinet.id, open_left=0)
        assert rig.fleet.nodes["N-3"].clock_set_to == int(rig.clock.now().timestamp())
