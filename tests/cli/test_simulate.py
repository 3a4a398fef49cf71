"""`signalight simulate`: TLS options refused at once where they cannot work; crews' windows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from signalight.adapters.sql.database import SqlDatabase
from signalight.cli.main import app
from signalight.container import Container
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.services.door_windows import DoorAuthority
from signalight.settings import Settings
from signalight.sim.truth import read_truth

runner = CliRunner()


def simulate(tmp_path: Path, *args: str) -> tuple[int, str]:
    env = {"SIGNALIGHT_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "300"}
    result = runner.invoke(app, ["simulate", "--city", "nowhere", *args], env=env)
    return result.exit_code, result.output


def test_tls_options_need_a_broker(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("unused\n")
    code, output = simulate(tmp_path, "--tls-ca", str(ca))
    assert code == 1
    assert "the --tls options need --broker" in output


def test_a_ca_file_that_is_no_certificate_stops_it_before_anything_runs(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("this is not a certificate\n")
    code, output = simulate(
        tmp_path, "--broker", "127.0.0.1:9", "--password", "x", "--tls-ca", str(ca)
    )
    assert code == 1
    assert f"cannot load the CA certificates from {ca}" in output
    assert not (tmp_path / "data").exists()  # no database opened, no truth log begun


def test_a_crews_visit_books_its_window_and_a_strangers_is_a_break_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGNALIGHT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SIGNALIGHT_DATABASE_URL", raising=False)
    monkeypatch.setenv("SIGNALIGHT_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("COLUMNS", "200")
    city_add = ["city", "add", "Ipoh", "--country", "MY", "--lat", "4.6", "--lon", "101.1"]
    assert runner.invoke(app, city_add).exit_code == 0
    assert (
        runner.invoke(app, ["user", "add", "ali", "--city", "ipoh", "--role", "crew"]).exit_code
        == 0
    )
    data = tmp_path / "data"
    db = SqlDatabase.connect(f"sqlite:///{data / 'signalight.db'}")
    container = Container(Settings(data_dir=data), db)
    try:
        city = container.cities.get("ipoh")
        record = AssetRecord(
            kind=AssetKind.INTERSECTION, code="INT-7", lat=4.6, lon=101.1, phases=(2, 4, 6, 8)
        )
        junction = container.inventory.create(city, replace(record, device="s-7"))
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
        for crew, truth in (("--crew", "crew.jsonl"), (None, "none.jsonl")):
            args = ["simulate", "--city", "ipoh", "--start", start.isoformat(), "--duration", "1h"]
            args += ["--speed", "max", "--fault-rate-scale", "0", "--truth", str(tmp_path / truth)]
            args += ["--inject", "doorOpenAuthorised:INT-7@+10m/20m"]
            result = runner.invoke(app, [*args, *((crew, "ali") if crew else ())])
            assert result.exit_code == 0, result.output
        opened = start.timestamp() + 600
        assert DoorAuthority(container.windows)(city.pk, junction.id, opened) is not None
        (visit,) = read_truth(tmp_path / "crew.jsonl")
        (stranger,) = read_truth(tmp_path / "none.jsonl")
        assert (visit.fault, stranger.fault) == ("doorOpenAuthorised", "doorOpenUnauthorised")
    finally:
        db.close()
