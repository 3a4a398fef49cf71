"""A message the database refuses is a dead letter; the rest of its batch is stored and acked.

The poison here is real: a device deleted from the database after ingest's
directory knew it (its live state has a foreign key), on both stores.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import orjson
import pytest
from sqlalchemy import delete

from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.tables import devices
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.cities import City
from signalight.domain.readings import RejectReason
from signalight.domain.telemetry import Accepted, DeadLetter
from signalight.services.batcher import Batcher
from signalight.services.ingest import IngestService, Message
from tests.services.test_ingest import NOW, senml, up

DEVICES = ("P-1", "P-2", "P-3")


@pytest.fixture
def service(database: SqlDatabase, city: City) -> IngestService:
    database.assets.upsert_assets(
        city.pk,
        [
            AssetRecord(
                kind=AssetKind.STREETLIGHT, code=f"SL-{uid}", lat=5.38, lon=100.4, device=uid
            )
            for uid in (*DEVICES, "GONE")
        ],
    )
    return IngestService(database.telemetry)


def test_a_poisoned_message_in_a_stream_is_a_dead_letter_and_the_rest_are_stored(
    service: IngestService, database: SqlDatabase, city: City
) -> None:
    messages: list[Accepted] = []
    for n in range(30):
        uid = "GONE" if n == 17 else DEVICES[n % 3]
        payload = senml(uid, power=10.0 + n)
        outcome = service.check(Message(up(city, uid), payload, NOW + n))
        assert isinstance(outcome, Accepted)
        messages.append(
            outcome._replace(readings=[r._replace(time=NOW + n) for r in outcome.readings])
        )
    # An admin takes the device out of the database after ingest looked it up.
    with database.engine.begin() as conn:
        conn.execute(delete(devices).where(devices.c.city_id == city.pk, devices.c.uid == "GONE"))

    acknowledged: list[int] = []
    done = threading.Event()

    def on_stored(tokens: list[int]) -> None:
        acknowledged.extend(tokens)
        if len(acknowledged) == 30:
            done.set()

    batcher: Batcher[int] = Batcher(
        service, on_stored, transport="mqtt", max_messages=30, max_wait=0.02
    )
    batcher.start()
    for token, message in enumerate(messages):
        batcher.put(message, token)
    assert done.wait(30)
    batcher.stop()

    assert acknowledged == list(range(30))  # all of them, in order, once
    assert batcher.refused == 1
    assert batcher.failures == 0
    for uid in DEVICES:
        ref = database.telemetry.find_device(city.slug, uid)
        assert ref is not None
        stored = database.telemetry.readings(city.pk, ref.id, NOW - 1, NOW + 60, None, 100)
        assert [r.value for r in stored] == [
            10.0 + n for n in range(30) if n != 17 and DEVICES[n % 3] == uid
        ]
    [letter] = database.telemetry.dead_letters(city.pk, 10)
    assert letter.reason is RejectReason.NOT_STORED
    assert letter.topic == up(city, "GONE")
    assert letter.device_uid == "GONE"
    assert "database refused" in letter.message
    pack = orjson.loads(letter.payload)
    assert pack[0]["bn"] == "GONE/"
    assert any(record.get("v") == 27.0 for record in pack)


class OnceOdd:
    """The real store, which fails the first write with an error that is not about its rows."""

    def __init__(self, service: IngestService) -> None:
        self.real = service.telemetry
        self.calls = 0

    def write(self, accepted: Sequence[Accepted], dead: Sequence[DeadLetter]) -> int:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("Can't reconnect until invalid transaction is rolled back")
        return self.real.write(accepted, dead)

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


def test_an_error_that_does_not_come_back_files_no_dead_letter(
    service: IngestService, database: SqlDatabase, city: City
) -> None:
    odd = OnceOdd(service)
    service.telemetry = odd  # type: ignore[assignment]
    outcome = service.check(Message(up(city, "P-1"), senml("P-1", power=42.0), NOW))
    assert isinstance(outcome, Accepted)
    batcher: Batcher[int] = Batcher(service, lambda _tokens: None, transport="mqtt")
    batcher.store([outcome])
    assert odd.calls == 2
    assert batcher.refused == 0
    assert database.telemetry.dead_letters(city.pk, 5) == []
    ref = database.telemetry.find_device(city.slug, "P-1")
    assert ref is not None
    state = database.telemetry.device_state(city.pk, ref.id)
    assert state is not None
