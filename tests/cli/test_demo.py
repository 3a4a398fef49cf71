"""The demo as the README shows it: its examples work on the fleet `signalight demo` makes."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from signalight.api.app import create_app
from signalight.cli import demo_fleet
from signalight.cli.main import app
from signalight.container import Container, build
from signalight.services.embedded_feed import EmbeddedFeed
from signalight.settings import Settings
from signalight.sim import showcase

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
BBOX = re.compile(r"bbox=(-?[\d.]+,-?[\d.]+,-?[\d.]+,-?[\d.]+)")
runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SIGNALIGHT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SIGNALIGHT_DATABASE_URL", raising=False)
    monkeypatch.delenv("SIGNALIGHT_MQTT_HOST", raising=False)
    monkeypatch.setenv("SIGNALIGHT_LOG_LEVEL", "WARNING")
    return tmp_path


def _readme_bbox_query() -> str:
    """The path and query of the README's bbox example, as written there."""
    found = re.findall(
        r"http://127\.0\.0\.1:8000(/api/v1/[^\"\s]*bbox=[^\"\s]*)", README.read_text()
    )
    assert len(found) == 1, "the README should show one bbox example"
    return str(found[0])


def test_the_readme_bbox_example_finds_demo_assets(env: Path) -> None:
    query = _readme_bbox_query()
    result = runner.invoke(app, ["demo", "--no-serve"])  # the demo's own fleet, 20,000 lights
    assert result.exit_code == 0, result.stderr
    token = result.stdout.split("(shown once): ")[1].split()[0]
    container = build(Settings())
    try:
        with TestClient(create_app(container)) as client:
            answer = client.get(query, headers={"Authorization": f"Bearer {token}"})
    finally:
        container.close()
    assert answer.status_code == 200, answer.text
    features = answer.json()["features"]
    assert len(features) >= 1
    kinds = {feature["properties"]["kind"] for feature in features}
    assert "streetlight" in kinds


def test_every_bbox_in_the_docs_holds_demo_assets(env: Path) -> None:
    boxes = {box for doc in DOCS for box in BBOX.findall(doc.read_text())}
    assert boxes
    result = runner.invoke(app, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.stderr
    token = result.stdout.split("(shown once): ")[1].split()[0]
    container = build(Settings())
    try:
        with TestClient(create_app(container)) as client:
            found = {
                box: client.get(
                    "/api/v1/cities/seberang-perai/assets",
                    params={"bbox": box, "limit": 1},
                    headers={"Authorization": f"Bearer {token}"},
                ).json()["items"]
                for box in boxes
            }
    finally:
        container.close()
    assert [box for box, items in found.items() if not items] == []


def _alarm_counts(container: Container, token: str) -> dict[str, int]:
    with TestClient(create_app(container)) as client:
        answer = client.get(
            "/api/v1/cities/seberang-perai/alarms/counts",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 200, answer.text
    return {kind: n for kind, n in answer.json()["by_type"].items() if n}


def test_the_history_shows_an_alarm_of_every_kind_whatever_the_hour(env: Path) -> None:
    result = runner.invoke(app, ["demo", "--lights", "300", "--intersections", "2", "--no-serve"])
    assert result.exit_code == 0, result.stderr
    token = result.stdout.split("(shown once): ")[1].split()[0]
    container = build(Settings())
    try:
        city = container.db.cities.get_city("seberang-perai")
        detection = container.watch_ingest()
        assert detection is not None
        feed = EmbeddedFeed(container.ingest)
        now = time.time()
        # What the demo does before it goes live, on the same embedded ingest.
        simulator, planned = demo_fleet.prepare_history(container, city, now, seed=2016)
        stats = simulator.run(feed, until=now)
        feed.close()
        detection.stop()
        counts = _alarm_counts(container, token)
    finally:
        container.close()
    assert stats.simulated_s == pytest.approx(demo_fleet.HISTORY_S)
    assert {i.type for i in planned} == showcase.DETECTED
    assert set(counts) >= {str(kind) for kind in showcase.DETECTED}
    # The replay itself raises no flood: silence only where a node was made silent
    # or its cabinet lost its supply, not on every node the detector met mid-replay.
    assert counts["communicationFailure"] <= 10


def test_a_demo_run_again_replays_only_the_gap_since_the_fleet_last_reported() -> None:
    now = 1_800_000_000.0
    full = now - demo_fleet.HISTORY_S
    assert demo_fleet.history_start(now, None) == full
    assert demo_fleet.history_start(now, now - 600.0) == now - 600.0
    assert demo_fleet.history_start(now, full - 3600.0) == full
    assert demo_fleet.history_start(now, now + 60.0) == full  # a clock that ran ahead


def test_the_demo_people_sign_in_with_the_printed_passwords_run_after_run(env: Path) -> None:
    runs = [runner.invoke(app, ["demo", "--no-serve", "--lights", "50"]) for _ in range(2)]
    for result in runs:
        assert result.exit_code == 0, result.stderr
    people = [re.findall(r"^  (\w+) +(\S+)  \((\w+)\)$", r.stdout, re.MULTILINE) for r in runs]
    printed = [{name: password for name, password, _ in found} for found in people]
    roles = {name: role for name, _, role in people[0]}
    assert roles == {"admin": "admin", "operator": "operator", "crew": "crew", "viewer": "viewer"}
    assert printed[0] == printed[1]  # kept: a second run does not sign anyone out
    container = build(Settings())
    try:
        with TestClient(create_app(container)) as client:
            for name, password in printed[0].items():
                answer = client.post(
                    "/api/v1/auth/session", json={"username": name, "password": password}
                )
                assert answer.status_code == 200, answer.text
                assert answer.json()["roles"] == [{"city": "seberang-perai", "role": roles[name]}]
            client.post(
                "/api/v1/auth/session", json={"username": "admin", "password": printed[0]["admin"]}
            )
            networks = client.get("/api/v1/networks").json()
    finally:
        container.close()
    assert [n["slug"] for n in networks] == ["wego"]
    assert (env / "data" / "demo-passwords" / "crew").stat().st_mode & 0o077 == 0
