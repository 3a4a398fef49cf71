"""LoRaWAN nodes' commands through stand-ins for ChirpStack's and The Things Stack's MQTT
integrations on the real Mosquitto: downlinks out, their events back as answers."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import orjson
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from signalight.adapters.clock import ManualClock
from signalight.adapters.mqtt_commands import MqttCommandLink
from signalight.adapters.sql.commands import SqlCommandStore
from signalight.adapters.sql.database import SqlDatabase
from signalight.codecs.lorawan import parse_routes
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.command_batches import CommandQuery, Target, TargetKind
from signalight.domain.commands import CommandKind, CommandState
from signalight.services.command_lorawan import lorawan_routes
from signalight.services.command_routes import Router
from signalight.services.commands import CommandService
from tests.conftest import make_city, unique
from tests.services.command_rig import POLICY, START, operator, wait_for

pytestmark = pytest.mark.mqtt

EUIS = ["0004a30b001c0530", "0004a30b001c0531"]  # on ChirpStack
TTS = ["lamp-1", "lamp-2", "lamp-3"]  # on The Things Stack: ok, failed, nack


class NetworkServers:
    """Answers downlinks as ChirpStack and The Things Stack would, once the node confirms."""

    def __init__(self, cs_app: str, tts_app: str) -> None:
        self.got: list[tuple[str, dict[str, Any]]] = []
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=unique("lns"),
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self._client.on_message = self._on_message
        subscribed = threading.Semaphore(0)
        self._client.on_subscribe = lambda *_args: subscribed.release()
        self._client.connect("127.0.0.1", 1883)
        self._client.subscribe(f"application/{cs_app}/device/+/command/down", qos=1)
        self._client.subscribe(f"v3/{tts_app}@ttn/devices/+/down/push", qos=1)
        self._client.loop_start()
        # Both subscriptions in place before any downlink is published (else it is dropped).
        assert subscribed.acquire(timeout=5)
        assert subscribed.acquire(timeout=5)

    def _on_message(self, _c: Any, _u: Any, message: paho.MQTTMessage) -> None:
        body = orjson.loads(message.payload)
        self.got.append((message.topic, body))
        parts = message.topic.split("/")
        if parts[0] == "application":
            base = "/".join(parts[:4]) + "/event"
            self._client.publish(f"{base}/txack", orjson.dumps({"queueItemId": body["id"]}), 1)
            ack = {"queueItemId": body["id"], "acknowledged": True, "fCntDown": 3,
                   "deviceInfo": {"devEui": body["devEui"]}}  # fmt: skip
            self._client.publish(f"{base}/ack", orjson.dumps(ack), 1)
            return
        base = "/".join(parts[:4]) + "/down"
        item = body["downlinks"][0]
        device = parts[3]
        if device == "lamp-1":
            self._client.publish(f"{base}/ack", orjson.dumps({"downlink_ack": item}), 1)
        elif device == "lamp-2":
            failed = {"downlink": item, "error": {"message_format": "no device session"}}
            self._client.publish(f"{base}/failed", orjson.dumps({"downlink_failed": failed}), 1)
        else:
            self._client.publish(f"{base}/nack", orjson.dumps({"downlink_nack": item}), 1)

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def apps() -> tuple[str, str]:
    return unique("cs-app"), unique("tts-app")


def test_downlinks_and_their_events(database: SqlDatabase, apps: tuple[str, str]) -> None:
    cs_app, tts_app = apps
    city = make_city(database)
    records = [
        AssetRecord(kind=AssetKind.STREETLIGHT, code=f"SL-{uid}", lat=5.38, lon=100.4, device=uid)
        for uid in [*EUIS, *TTS]
    ]
    database.assets.upsert_assets(city.pk, records)
    document = {"applications": {
        cs_app: {"city": city.slug, "fields": {},
                 "downlink": {"server": "chirpstack", "f_port": 10, "encoding": "bytes",
                              "devices": EUIS}},
        f"{tts_app}": {"city": city.slug, "fields": {},
                       "downlink": {"server": "the_things_stack", "f_port": 15,
                                    "encoding": "json", "devices": TTS, "tenant": "ttn"}},
    }}  # fmt: skip
    clock = ManualClock(START)
    router = Router(lorawan_routes(parse_routes(orjson.dumps(document))))
    service = CommandService(
        SqlCommandStore(database.engine), database.assets, database.cities, clock,
        policy=POLICY, router=router,
    )  # fmt: skip
    servers = NetworkServers(cs_app, tts_app)
    link = MqttCommandLink(
        "127.0.0.1", 1883, None, None, router.filters(), client_id=unique("commands")
    )
    link.start(service.handle_answers)
    try:
        assert link.wait_connected(5)
        time.sleep(0.2)
        batch = service.request(
            city, operator(city), CommandKind.SWITCH, {"on": True}, Target(TargetKind.CITY),
            expires_at=clock.now() + timedelta(hours=6),
        )  # fmt: skip
        # The session's database may hold other tests' waiting commands: they go out too.
        assert service.dispatch(link).sent >= 5
        assert wait_for(lambda: service.store.progress(batch.id).open <= 1)
        time.sleep(0.3)
        found = service.store.query_commands(city.pk, CommandQuery(batch_id=batch.id))
        by_device = {c.device_uid: c for c in found}
        states = {uid: c.state for uid, c in by_device.items()}
        assert states == {
            EUIS[0]: CommandState.ACKNOWLEDGED, EUIS[1]: CommandState.ACKNOWLEDGED,
            "lamp-1": CommandState.ACKNOWLEDGED, "lamp-2": CommandState.FAILED,
            "lamp-3": CommandState.SENT,  # the node did not confirm: it waits, sent again later
        }  # fmt: skip
        assert by_device["lamp-2"].reason == "no device session"
        topics = sorted(topic.split("/")[0] for topic, _ in servers.got)
        assert topics == ["application", "application", "v3", "v3", "v3"]
        frames = [body for topic, body in servers.got if topic.startswith("application")]
        assert {body["fPort"] for body in frames} == {10}
        assert all("data" in body and body["confirmed"] for body in frames)
        # No stray: txacks and the nack are news, not answers.
        assert service.store.query_strays(city.pk) == []
        clock.advance(timedelta(minutes=2))
        assert service.dispatch(link).sent >= 1  # lamp-3 again, the same id
        assert wait_for(lambda: len([t for t, _ in servers.got if "lamp-3" in t]) == 2)
        time.sleep(0.3)  # anything else sent again would have come by now
        resent = [b for t, b in servers.got if "lamp-3" in t]
        assert len(servers.got) == 6
        ids = {b["downlinks"][0]["correlation_ids"][0] for b in resent}
        assert len(resent) == 2
        assert len(ids) == 1
    finally:
        link.stop()
        servers.stop()
