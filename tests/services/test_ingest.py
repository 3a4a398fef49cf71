"""Ingest: each message accepted whole or filed as a dead letter with its reason; batches."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import orjson
import pytest

from signalight.adapters.sql.database import SqlDatabase
from signalight.codecs.lorawan import ApplicationRoute, FieldMapping
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.cities import City
from signalight.domain.errors import StorageUnavailableError
from signalight.domain.readings import RejectReason
from signalight.domain.telemetry import Accepted, DeadLetter
from signalight.services.batcher import Batcher
from signalight.services.ingest import IngestLimits, IngestService, Message

NOW = time.time()


@pytest.fixture
def service(database: SqlDatabase, city: City) -> IngestService:
    database.assets.upsert_assets(
        city.pk,
        [
            AssetRecord(kind=AssetKind.STREETLIGHT, code="SL-1", lat=5.38, lon=100.4, device="N-1"),
            AssetRecord(kind=AssetKind.STREETLIGHT, code="SL-2", lat=5.38, lon=100.4, device="N-2"),
            AssetRecord(
                kind=AssetKind.STREETLIGHT,
                code="SL-3",
                lat=5.38,
                lon=100.4,
                device="70b3d57ed0000001",
            ),
        ],
    )
    route = ApplicationRoute(city.slug, FieldMapping({"powerW": ("power", 1.0)}))
    return IngestService(
        database.telemetry,
        limits=IngestLimits(max_bytes=2048),
        lorawan_routes={"app-1": route},
    )


def up(city: City, device: str) -> str:
    return f"signalight/{city.slug}/{device}/up"


def senml(device: str, **values: float) -> bytes:
    records: list[dict[str, object]] = [{"bn": f"{device}/", "bt": NOW}]
    records += [{"n": name, "v": value} for name, value in values.items()]
    return orjson.dumps(records)


def test_a_good_pack_is_accepted_with_its_device(service: IngestService, city: City) -> None:
    outcome = service.check(Message(up(city, "N-1"), senml("N-1", power=70.0), NOW))
    assert isinstance(outcome, Accepted)
    assert outcome.device.uid == "N-1"
    assert outcome.device.city_slug == city.slug
    assert [(r.name, r.value) for r in outcome.readings] == [("power", 70.0)]


@pytest.mark.parametrize(
    ("device", "payload", "reason"),
    [
        ("N-1", b"{not json", RejectReason.MALFORMED),
        ("N-1", b'[{"bn": "N-1/", "n": "power", "v": 70, "u": "V"}]', RejectReason.WRONG_UNIT),
        ("N-1", b'[{"bn": "N-1/", "n": "power", "v": -5}]', RejectReason.OUT_OF_RANGE),
        ("N-1", b'[{"bn": "N-1/", "n": "power", "vs": "high"}]', RejectReason.WRONG_TYPE),
        ("N-1", b'[{"bn": "N-2/", "n": "power", "v": 70}]', RejectReason.FOREIGN_BASE_NAME),
        ("N-1", b'[{"bn": "N-1/", "n": "mode", "vs": "flash"}]', RejectReason.UNKNOWN_NAME),
        ("N-1", b"[" + b" " * 3000 + b"]", RejectReason.TOO_LARGE),
        ("N-9", senml("N-9", power=70.0), RejectReason.UNKNOWN_DEVICE),
    ],
)
def test_bad_messages_become_dead_letters_with_their_reason(
    service: IngestService, city: City, device: str, payload: bytes, reason: RejectReason
) -> None:
    outcome = service.check(Message(up(city, device), payload, NOW))
    assert isinstance(outcome, DeadLetter)
    assert outcome.reason is reason, outcome.message
    assert outcome.message
    assert outcome.payload == payload[:4096]
    assert outcome.device_uid == device


def test_time_far_ahead_or_behind_is_refused(service: IngestService, city: City) -> None:
    for when in (NOW + 3600, NOW - 30 * 86_400):
        payload = orjson.dumps([{"bn": "N-1/", "bt": when, "n": "power", "v": 1}])
        outcome = service.check(Message(up(city, "N-1"), payload, NOW))
        assert isinstance(outcome, DeadLetter)
        assert outcome.reason is RejectReason.BAD_TIME


def test_topics_of_the_wrong_shape_are_refused(service: IngestService, city: City) -> None:
    for topic in ("signalight/x", "other/topic/here/up", f"signalight/{city.slug}/N-1/down"):
        outcome = service.check(Message(topic, b"[]", NOW))
        assert isinstance(outcome, DeadLetter)
        assert outcome.reason is RejectReason.BAD_TOPIC


def test_status_messages_become_a_status_reading(service: IngestService, city: City) -> None:
    topic = f"signalight/{city.slug}/N-1/status"
    outcome = service.check(Message(topic, b"offline", NOW))
    assert isinstance(outcome, Accepted)
    assert [(r.name, r.string_value) for r in outcome.readings] == [("status", "offline")]
    bad = service.check(Message(topic, b"sleepy", NOW))
    assert isinstance(bad, DeadLetter)
    assert bad.reason is RejectReason.MALFORMED


def test_chirpstack_uplinks_of_a_routed_application_reach_their_device(
    service: IngestService, city: City
) -> None:
    topic = "application/app-1/device/70b3d57ed0000001/event/up"
    event = {
        "time": "2026-11-29T10:00:00Z",
        "deviceInfo": {"applicationId": "app-1", "devEui": "70b3d57ed0000001"},
        "fCnt": 7,
        "fPort": 2,
        "object": {"powerW": 61.5},
    }
    when = 1_795_946_400.0
    outcome = service.check(Message(topic, orjson.dumps(event), when + 1))
    assert isinstance(outcome, Accepted), getattr(outcome, "message", "")
    assert outcome.device.uid == "70b3d57ed0000001"
    assert [(r.name, r.value) for r in outcome.readings] == [("power", 61.5)]
    stray = service.check(Message("application/app-2/device/70b3d57ed0000001/event/up", b"{}", NOW))
    assert isinstance(stray, DeadLetter)
    assert stray.reason is RejectReason.UNKNOWN_DEVICE


def test_ingest_stores_the_good_and_files_the_bad_in_one_batch(
    service: IngestService, database: SqlDatabase, city: City
) -> None:
    messages = [
        Message(up(city, "N-1"), senml("N-1", power=70.0, voltage=231.0), NOW),
        Message(up(city, "N-1"), b"\xff\xfe", NOW),
        Message(up(city, "N-2"), senml("N-2", power=35.0), NOW),
    ]
    accepted, dead = service.ingest(messages)
    assert len(accepted) == 2
    assert [letter.reason for letter in dead] == [RejectReason.MALFORMED]
    n2 = database.telemetry.find_device(city.slug, "N-2")
    assert n2 is not None
    state = database.telemetry.device_state(city.pk, n2.id)
    assert state is not None
    assert state.values["power"][1] == 35.0
    assert database.telemetry.dead_letter_counts(city.pk) == {RejectReason.MALFORMED: 1}


def test_a_device_added_after_start_is_found(
    service: IngestService, database: SqlDatabase, city: City
) -> None:
    database.assets.upsert_assets(
        city.pk,
        [AssetRecord(kind=AssetKind.STREETLIGHT, code="SL-9", lat=5.38, lon=100.4, device="N-new")],
    )
    outcome = service.check(Message(up(city, "N-new"), senml("N-new", power=1.0), NOW))
    assert isinstance(outcome, Accepted)


class FlakyStore:
    """The real store behind a switch that makes writes fail, as a database restart does."""

    def __init__(self, service: IngestService, failures: int) -> None:
        self.real = service.telemetry
        self.failures = failures
        self.calls = 0

    def write(self, accepted: Sequence[Accepted], dead: Sequence[DeadLetter]) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise StorageUnavailableError("store readings: database unavailable")
        return self.real.write(accepted, dead)

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


def test_the_batcher_acknowledges_only_after_storing_and_retries_a_failed_batch(
    service: IngestService, database: SqlDatabase, city: City
) -> None:
    flaky = FlakyStore(service, failures=2)
    service.telemetry = flaky  # type: ignore[assignment]
    stalls: list[bool] = []
    service.stall_listeners.append(stalls.append)
    stored: list[list[int]] = []
    done = threading.Event()

    def on_stored(tokens: list[int]) -> None:
        # By the time tokens come back, their readings are in the database.
        n1 = database.telemetry.find_device(city.slug, "N-1")
        assert n1 is not None
        assert database.telemetry.device_state(city.pk, n1.id) is not None
        stored.append(tokens)
        done.set()

    batcher: Batcher[int] = Batcher(
        service, on_stored, transport="mqtt", max_messages=10, max_wait=0.02
    )
    batcher.start()
    for token in range(3):
        message = Message(up(city, "N-1"), senml("N-1", power=10.0 + token), NOW + token)
        batcher.put(service.check(message), token)
    assert done.wait(10)
    batcher.stop()
    assert stored == [[0, 1, 2]]
    assert flaky.calls == 3
    assert batcher.failures == 0
    assert stalls == [True, False]  # told once when storing stopped, once when it came back


def test_the_batcher_holds_the_reader_back_and_stores_batches_of_at_most_its_size(
    service: IngestService, city: City
) -> None:
    batches: list[list[int]] = []
    batcher: Batcher[int] = Batcher(
        service, batches.append, transport="mqtt", max_messages=2, max_wait=0.01, max_pending=4
    )
    checked = [
        service.check(Message(up(city, "N-1"), senml("N-1", power=float(n)), NOW + n))
        for n in range(6)
    ]
    for token in range(4):  # room for two batches while the writer is not running
        batcher.put(checked[token], token)

    def put_the_rest() -> None:
        for token in (4, 5):
            batcher.put(checked[token], token)

    late = threading.Thread(target=put_the_rest)
    late.start()
    late.join(0.3)
    assert late.is_alive()  # a reader would stop reading here, and the broker wait
    batcher.start()
    late.join(5)
    assert not late.is_alive()
    batcher.stop()
    assert batches == [[0, 1], [2, 3], [4, 5]]
