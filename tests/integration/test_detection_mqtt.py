"""Faults injected by the simulator, published over MQTT, judged by `signalight ingest`, scored.

The whole path an operator runs: `signalight simulate --broker` publishes a
replayed half day of a small city with faults injected at known times (and
its ground truth); `signalight ingest` stores and judges it; `signalight
score --check` compares the alarms with the truth.
"""

from __future__ import annotations

import os
import subprocess
import time
import zoneinfo
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.alarms import AlarmQuery, AlarmState
from signalight.domain.assets import AssetKind
from signalight.sim.generator import generate_fleet
from tests.conftest import make_city
from tests.integration.ingest_rig import (
    PASSWORDS,
    PUBLISHER,
    SIGNALIGHT,
    IngestProcess,
    start_broker,
    stored,
)

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]

ZONE = zoneinfo.ZoneInfo("Asia/Kuala_Lumpur")
HOURS = 12


def last_noon() -> datetime:
    """The latest local noon at least HOURS ago: the replay runs noon to midnight, local."""
    now = datetime.now(ZONE)
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    while noon + timedelta(hours=HOURS) > now:
        noon -= timedelta(days=1)
    return noon.astimezone(UTC)


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(  # noqa: S603 - our own command
        [str(SIGNALIGHT), *args], env=env, capture_output=True, check=False, timeout=300
    )


def test_injected_faults_published_over_mqtt_are_raised_and_score_clean(
    tmp_path: Path,
) -> None:
    broker = start_broker(tmp_path / "broker")
    url = f"sqlite:///{tmp_path / 'city.db'}"
    db = SqlDatabase.connect(url)
    db.migrate()
    city = make_city(db)
    fleet = generate_fleet(city, lights=300, intersections=2, seed=4, today=date(2026, 1, 1))
    db.assets.upsert_assets(city.pk, fleet.records)
    lights = [r for r in fleet.records if r.kind is AssetKind.STREETLIGHT and r.device]
    fed = {r.cabinet for r in lights}
    cabinet = next(
        r.code
        for r in fleet.records
        if r.kind is AssetKind.CABINET
        and r.device
        and sum(1 for light in lights if light.cabinet == r.code) >= 3
    )
    assert cabinet in fed
    elsewhere = [light for light in lights if light.cabinet != cabinet]
    injected = {
        "lampUnexpectedOn": (elsewhere[0].code, "+1h/2h"),  # 13:00 local, broad day
        "lampFailure": (elsewhere[1].code, "+2h"),  # by day: shows at dusk (19:23)
        "communicationFailure": (elsewhere[2].code, "+3h/1h"),
        "orientationChanged": (elsewhere[3].code, "+4h"),
        "supplyLoss": (cabinet, "+9h/1h"),  # 21:00 local: its lights are burning
    }
    start = last_noon()
    truth = tmp_path / "truth.jsonl"
    env = {
        **os.environ,
        "SIGNALIGHT_DATA_DIR": str(tmp_path / "data"),
        "SIGNALIGHT_DATABASE_URL": url,
        "SIGNALIGHT_LOG_LEVEL": "WARNING",
    }
    ingest = IngestProcess(tmp_path, url, broker.port)
    try:
        ingest.start()
        simulate = run(
            [
                "simulate",
                "--city", city.slug,
                "--speed", "max",
                "--start", start.isoformat(),
                "--duration", f"{HOURS}h",
                "--seed", "7",
                "--fault-rate-scale", "0",
                "--broker", f"127.0.0.1:{broker.port}",
                "--username", PUBLISHER,
                "--password", PASSWORDS[PUBLISHER],
                "--truth", str(truth),
                *(
                    part
                    for kind, (asset, when) in injected.items()
                    for part in ("--inject", f"{kind}:{asset}@{when}")
                ),
            ],
            env,
        )  # fmt: skip
        assert simulate.returncode == 0, simulate.stderr.decode()[-2000:]
        # ingest has it all when the stored count stops moving
        previous, settled = -1, 0
        deadline = time.monotonic() + 120
        while settled < 3 and time.monotonic() < deadline:
            count = stored(db, city)[0]
            settled = settled + 1 if count == previous else 0
            previous = count
            time.sleep(1.0)
        time.sleep(2.0)  # the detector's last flush
        alarms = db.alarms.query_alarms(
            city.pk, AlarmQuery(states=frozenset(AlarmState), include_held=True, limit=1000)
        ).items
        raised = {(str(a.type), a.asset_code) for a in alarms if not a.held}
        for kind, (asset, _when) in injected.items():
            assert (kind, asset) in raised, (kind, asset, sorted(raised), ingest.log.read_text())
        held = [a for a in alarms if a.held]
        assert held, "the cabinet's lights are held under its outage"
        assert all(a.parent_id is not None for a in held)
        end = start + timedelta(hours=HOURS)
        score = run(
            [
                "score", "--city", city.slug, "--truth", str(truth),
                "--from", start.isoformat(), "--until", end.isoformat(), "--json", "--check",
            ],
            env,
        )  # fmt: skip
        result = orjson.loads(score.stdout)
        assert score.returncode == 0, result
        by_type = {row["type"]: row for row in result["types"]}
        assert by_type["lampFailure"]["recall"] == 1.0
        assert (result["outages"], result["incidents"], result["lamp_alarms_in_outage"]) == (
            1,
            1,
            0,
        )
        assert ingest.alive()
    finally:
        ingest.stop()
        broker.stop()
        db.close()
