"""The demo as the README shows it: its examples work on the fleet `signalight demo` makes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from signalight.api.app import create_app
from signalight.cli.main import app
from signalight.container import build
from signalight.settings import Settings

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
    return found[0]


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
