"""`signalight simulate` with TLS options: refused at once where they cannot work."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from signalight.cli.main import app

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
