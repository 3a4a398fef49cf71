"""`signalight score` as a user reads it: whole headers and type names in an 80-column terminal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from signalight.adapters.sql.database import SqlDatabase
from signalight.cli.main import app
from signalight.domain.alarms import Alarm, AlarmType, EventKind, Severity
from signalight.domain.assets import AssetKind, AssetRecord
from tests.conftest import make_city

runner = CliRunner()
T0 = datetime(2026, 1, 15, 14, 0, tzinfo=UTC).timestamp()  # 22:00 in George Town
HEADERS = ("type", "faults", "expected", "detected", "recall", "alarms", "true", "precision")
TIME_HEADERS = ("from start: median / p95", "from visible: median / p95")


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def scored_city(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """A city with a metered cabinet and three lights, faults on them, and their alarms."""
    monkeypatch.setenv("SIGNALIGHT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SIGNALIGHT_DATABASE_URL", f"sqlite:///{tmp_path / 'score.db'}")
    monkeypatch.setenv("SIGNALIGHT_LOG_LEVEL", "WARNING")
    db = SqlDatabase.connect(f"sqlite:///{tmp_path / 'score.db'}")
    db.migrate()
    city = make_city(db)
    db.assets.upsert_assets(
        city.pk,
        [
            AssetRecord(kind=AssetKind.CABINET, code="CB-1", lat=5.38, lon=100.4, device="m-1"),
            *(
                AssetRecord(
                    kind=AssetKind.STREETLIGHT,
                    code=f"SL-{n}",
                    lat=5.38,
                    lon=100.4,
                    cabinet="CB-1",
                    device=f"n-{n}",
                    rated_watts=100.0,
                )
                for n in range(1, 4)
            ),
        ],
    )
    ids = {asset.code: asset.id for asset in db.assets.iter_assets(city.pk)}
    faults = [
        ("communicationFailure", "SL-1", T0 + 600.0, T0 + 7200.0),
        ("orientationChanged", "SL-2", T0 + 600.0, None),
        ("lampUnexpectedOn", "SL-3", T0 + 600.0, T0 + 900.0),  # by night: nothing to see
        ("supplyLoss", "CB-1", T0 + 3 * 3600.0, T0 + 3 * 3600.0 + 420.0),
        ("highVoltage", "CB-1", T0 + 4 * 3600.0, T0 + 5 * 3600.0),
    ]
    truth = tmp_path / "truth.jsonl"
    truth.write_bytes(
        b"".join(
            orjson.dumps(
                {
                    "fault": fault,
                    "asset": asset,
                    "device": None,
                    "city": city.slug,
                    "start": iso(start),
                    "end": None if end is None else iso(end),
                }
            )
            + b"\n"
            for fault, asset, start, end in faults
        )
    )
    raised = [
        (AlarmType.COMMUNICATION_FAILURE, "SL-1", T0 + 1800.0),
        (AlarmType.ORIENTATION_CHANGED, "SL-2", T0 + 1200.0),
        (AlarmType.SUPPLY_LOSS, "CB-1", T0 + 3 * 3600.0 + 300.0),
        (AlarmType.HIGH_VOLTAGE, "CB-1", T0 + 4 * 3600.0 + 600.0),
        (AlarmType.HIGH_VOLTAGE, "SL-3", T0 + 4 * 3600.0 + 700.0),
    ]
    db.alarms.record(
        [
            (
                Alarm(
                    city_id=city.pk,
                    type=kind,
                    severity=Severity.MAJOR,
                    asset_id=ids[code],
                    asset_code=code,
                    raised_at=at,
                    observed_at=at,
                    updated_at=at,
                ),
                EventKind.RAISED,
                at,
            )
            for kind, code, at in raised
        ]
    )
    db.close()
    return city.slug, truth


def score(slug: str, truth: Path, *more: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        [
            "score",
            "--city",
            slug,
            "--truth",
            str(truth),
            "--from",
            iso(T0),
            "--until",
            iso(T0 + 8 * 3600.0),
            *more,
        ],
        env={"COLUMNS": "80"},
    )
    return result.exit_code, result.stdout


def test_the_table_is_whole_at_80_columns(scored_city: tuple[str, Path]) -> None:
    code, out = score(*scored_city)
    assert code == 0, out
    assert max(len(line) for line in out.splitlines()) <= 80, out
    assert "…" not in out, out
    words = set(out.split())
    for header in HEADERS:
        assert header in words, (header, out)
    for header in TIME_HEADERS:
        assert header in out, (header, out)
    for kind in (
        "communicationFailure",
        "orientationChanged",
        "lampUnexpectedOn",
        "supplyLoss",
        "highVoltage",
    ):
        assert kind in words, (kind, out)


def test_the_footer_counts_what_the_table_counts(scored_city: tuple[str, Path]) -> None:
    code, out = score(*scored_city, "--json")
    assert code == 0, out
    result = orjson.loads(out)
    rows = {row["type"]: row for row in result["types"]}
    outage = rows["supplyLoss"]
    assert (outage["faults"], outage["expected"], outage["detected"]) == (1, 1, 1)
    assert (result["outages"], result["incidents"]) == (outage["expected"], outage["detected"])
    voltage = rows["highVoltage"]
    assert (voltage["detected"], voltage["alarms"], voltage["true_alarms"]) == (1, 2, 2)
    code, out = score(*scored_city)
    assert "outages 1, incidents 1" in " ".join(out.split()), out


def test_help_explains_every_column() -> None:
    result = runner.invoke(app, ["score", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    for header in (*HEADERS, "outages", "incidents"):
        assert f"{header}:" in text, header
    for header in TIME_HEADERS:
        assert f"{header}, time" in text, header
