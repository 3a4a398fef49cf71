"""Controller events through a real Mosquitto and HTTP ingest: every distinct event kept, once.

Real controllers log many events at one instant (end of yellow beside begin
of red clearance, phases 2 and 6 together): the bursts here are those of the
Econolite logs in ``../shared/atspm_samples/derived`` (decoded from the
``.dat`` files, read here as plain CSV), moved to yesterday and reported by
monitors as ``docs/protocol.md`` says, a pack a few seconds of log. Every
distinct (intersection, time, code, parameter) must be stored, a resent pack
must add nothing, and ingest must count what it merged.
"""

from __future__ import annotations

import base64
import csv
import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from signalight.adapters.sql.database import SqlDatabase
from signalight.container import Container
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.cities import City
from signalight.domain.readings import RejectReason
from signalight.domain.topics import Channel, device_topic
from tests.api.test_ingest_http import credentials
from tests.conftest import make_city
from tests.integration.broker import Broker, free_port
from tests.integration.ingest_rig import IngestProcess, Publisher, start_broker

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "atspm_samples" / "derived"
LOGS = sorted(SAMPLES.glob("*_decoded.csv")) if SAMPLES.is_dir() else []
PACK_SECONDS = 5.0  # a monitor reports the events of the last few seconds in one pack
YESTERDAY = time.time() - 86_400

pytestmark = pytest.mark.skipif(not LOGS, reason=f"the ATSPM samples are not at {SAMPLES}")

Event = tuple[str, float, int, int]  # monitor, time, code, parameter


def sample_events() -> list[Event]:
    """Every row of the decoded logs, each log's monitor named after it, moved to yesterday."""
    events: list[Event] = []
    for n, path in enumerate(LOGS):
        with path.open(newline="") as file:
            rows = list(csv.DictReader(file))
        first = datetime.fromisoformat(rows[0]["timestamp"]).timestamp()
        for row in rows:
            offset = datetime.fromisoformat(row["timestamp"]).timestamp() - first
            at = round(YESTERDAY + round(offset, 1), 1)
            events.append((f"M-{n}", at, int(row["event_code"]), int(row["event_param"])))
    return events


def packs(events: list[Event]) -> list[tuple[str, bytes]]:
    """The events as monitors send them: a SenML pack a monitor and a few seconds, in log order."""
    grouped: dict[tuple[str, int], list[Event]] = {}
    for event in events:
        grouped.setdefault((event[0], int(event[1] // PACK_SECONDS)), []).append(event)
    out = []
    for (monitor, _), group in grouped.items():
        base = group[0][1]
        records: list[dict[str, object]] = [{"bn": f"{monitor}/", "bt": base}]
        for _, at, code, param in group:
            records.append({"n": "event", "t": round(at - base, 1), "v": code, "vs": str(param)})
        out.append((monitor, orjson.dumps(records)))
    return out


def add_monitors(db: SqlDatabase, city: City) -> None:
    db.assets.upsert_assets(
        city.pk,
        [
            AssetRecord(
                kind=AssetKind.INTERSECTION,
                code=f"INT-{n}",
                lat=5.38,
                lon=100.4 + n / 1000,
                device=f"M-{n}",
            )
            for n in range(len(LOGS))
        ],
    )


def stored_events(db: SqlDatabase, city: City) -> set[tuple[str, float, int, int]]:
    """What ``signal_events`` holds, by monitor: a device's asset is its intersection."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT d.uid, e.time, e.code, e.param FROM signal_events AS e"
                " JOIN devices AS d ON d.asset_id = e.asset_id WHERE e.city_id = :c"
            ),
            {"c": city.pk},
        ).all()
    return {(uid, round(float(at), 3), int(code), int(param)) for uid, at, code, param in rows}


def expected(events: list[Event]) -> set[tuple[str, float, int, int]]:
    return {(monitor, round(at, 3), code, param) for monitor, at, code, param in events}


def test_the_samples_hold_bursts_of_events_sharing_an_instant() -> None:
    events = sample_events()
    instants = {(monitor, at) for monitor, at, _, _ in events}
    assert len(events) == 1168 + 765 + 275  # the .dat and .datZ row counts of INDEX.md
    assert len(expected(events)) > len(instants) * 1.5  # what a (device, time) key lost


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    instance = start_broker(tmp_path / "broker")
    try:
        yield instance
    finally:
        instance.stop()


def _duplicates(port: int) -> float:
    import urllib.request

    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    found = re.search(r"^signalight_ingest_duplicates_total (\S+)$", body, re.MULTILINE)
    assert found, body
    return float(found.group(1))


@pytest.mark.mqtt
@pytest.mark.slow
def test_every_distinct_event_of_real_bursts_is_stored_once_over_mqtt(
    tmp_path: Path, broker: Broker
) -> None:
    db = SqlDatabase.connect(f"sqlite:///{tmp_path / 'events.db'}")
    db.migrate()
    city = make_city(db)
    add_monitors(db, city)
    events = sample_events()
    # A monitor that repeats itself: a few records twice in their pack.
    doubled = events[:40:4]
    sent = packs(events + doubled)
    ingest = IngestProcess(
        tmp_path,
        db.engine.url.render_as_string(hide_password=False),
        broker.port,
        metrics_port=free_port(),
    )
    ingest.start()
    publisher = Publisher(broker.port)
    want = expected(events)
    try:
        stream = [(device_topic(city.slug, uid, Channel.UP), body) for uid, body in sent]
        publisher.publish(stream)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(stored_events(db, city)) < len(want):
            time.sleep(0.25)
        assert stored_events(db, city) == want
        assert db.telemetry.dead_letter_counts(city.pk) == {}
        assert _duplicates(ingest.metrics_port) == len(events) + len(doubled) - len(want)
        # Every pack again (a device resending after a lost PUBACK): nothing more stored.
        publisher.publish(stream)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and ingest.received() < 2 * len(stream):
            time.sleep(0.25)
        time.sleep(1.0)  # the last batch's commit
        assert ingest.alive()
        assert stored_events(db, city) == want
        assert _duplicates(ingest.metrics_port) == 2 * (len(events) + len(doubled)) - len(want)
    finally:
        publisher.close()
        ingest.stop()
        db.close()


def test_every_distinct_event_is_stored_once_over_http_and_an_unbound_monitor_is_refused(
    client: TestClient, container: Container
) -> None:
    city = make_city(container.db)
    add_monitors(container.db, city)
    add = AssetRecord(kind=AssetKind.INTERSECTION, code="INT-9", lat=5.4, lon=100.4, device="M-9")
    container.db.assets.upsert_assets(city.pk, [add])
    with container.db.engine.begin() as conn:  # M-9's intersection is gone, say
        conn.execute(text("UPDATE devices SET asset_id = NULL WHERE uid = 'M-9'"))
    issued = credentials(container).issue(city).issued
    secrets = {c.device: c.password for c in issued}
    events = [event for event in sample_events() if event[0] == "M-0"]
    sent = packs(events)

    def post(uid: str, body: bytes) -> int:
        token = base64.b64encode(f"{city.slug}/{uid}:{secrets[uid]}".encode()).decode()
        headers = {"Authorization": f"Basic {token}", "Content-Type": "application/senml+json"}
        return client.post("/api/v1/ingest", content=body, headers=headers).status_code

    assert {post(uid, body) for uid, body in sent} == {200}
    want = expected(events)
    assert stored_events(container.db, city) == want
    assert {post(uid, body) for uid, body in sent} == {200}  # resent: nothing more
    assert stored_events(container.db, city) == want
    metrics = client.get("/metrics").text
    found = re.search(r"^signalight_ingest_duplicates_total (\S+)$", metrics, re.MULTILINE)
    assert found
    assert float(found.group(1)) >= 2 * len(events) - len(want)
    # Unbound, a monitor's events have no intersection to be kept under: refused, and said why.
    assert post("M-9", sent[0][1].replace(b'"M-0/"', b'"M-9/"')) == 422
    letters = container.db.telemetry.dead_letters(city.pk, 10)
    assert [letter.reason for letter in letters][:1] == [RejectReason.UNBOUND]
    assert "bound to no intersection" in letters[0].message
