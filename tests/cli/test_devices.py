"""`signalight device`: credentials shown once, and the broker's files written from them."""

from __future__ import annotations

import csv
import io
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from signalight.adapters.mosquitto import verify_password
from signalight.cli.main import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SIGNALIGHT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SIGNALIGHT_DATABASE_URL", raising=False)
    monkeypatch.setenv("SIGNALIGHT_LOG_LEVEL", "INFO")
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def fleet(env: Path) -> Path:
    """A city with two devices."""
    assert run("city", "add", "Ipoh", "--country", "MY", "--lat", "4.6", "--lon", "101.1")[0] == 0
    lights = env / "lights.csv"
    lights.write_text(
        "kind,code,lat,lon,device\n"
        "streetlight,SL-1,4.5979,101.0901,n-1\n"
        "streetlight,SL-2,4.5980,101.0902,n-2\n"
    )
    assert run("import", "ipoh", str(lights))[0] == 0
    return env


def test_credentials_are_printed_once_as_csv(fleet: Path) -> None:
    code, out, err = run("device", "credentials", "ipoh")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["device"], r["username"]) for r in rows] == [
        ("n-1", "ipoh/n-1"),
        ("n-2", "ipoh/n-2"),
    ]
    assert all(len(r["password"]) == 32 for r in rows)
    assert "issued 2 credentials (shown once)" in err
    # Never in the logs, which go to stderr.
    assert not any(r["password"] in err for r in rows)
    code, out, err = run("device", "credentials", "ipoh")
    assert (code, out) == (0, "")
    assert "issued 0 credentials" in err
    assert "2 kept theirs" in err
    code, out, _ = run("device", "list", "ipoh")
    assert code == 0
    assert out.split() == ["n-1", "streetlight_node", "SL-1", "credentials",
                           "n-2", "streetlight_node", "SL-2", "credentials"]  # fmt: skip


def test_credentials_csv_escapes_formulas(env: Path) -> None:
    assert run("city", "add", "Ipoh", "--country", "MY", "--lat", "4.6", "--lon", "101.1")[0] == 0
    lights = env / "lights.csv"
    lights.write_text("kind,code,lat,lon,device\nstreetlight,SL-1,4.5979,101.0901,@SUM(A1)\n")
    assert run("import", "ipoh", str(lights))[0] == 0
    code, out, err = run("device", "credentials", "ipoh")
    assert code == 0, err
    [row] = csv.DictReader(io.StringIO(out))
    assert (row["device"], row["username"]) == ("'@SUM(A1)", "ipoh/@SUM(A1)")
    # A password is never escaped: it is made so that it needs no quote.
    assert len(row["password"]) == 32
    assert row["password"][0] not in "=+-@'"


def test_rotation_to_a_private_file(fleet: Path) -> None:
    out_file = fleet / "issued.csv"
    assert run("device", "credentials", "ipoh")[0] == 0
    code, out, err = run(
        "device", "credentials", "ipoh", "--device", "n-1", "--rotate", "--out", str(out_file)
    )
    assert code == 0, err
    assert out == ""
    assert mode(out_file) == 0o600
    rows = list(csv.DictReader(io.StringIO(out_file.read_text())))
    assert [r["device"] for r in rows] == ["n-1"]
    # An existing file may hold earlier secrets: never overwritten.
    code, _, err = run("device", "credentials", "ipoh", "--rotate", "--out", str(out_file))
    assert code == 1
    assert "exists already" in err
    assert [r["device"] for r in csv.DictReader(io.StringIO(out_file.read_text()))] == ["n-1"]


def test_refusals_are_clear(fleet: Path) -> None:
    code, _, err = run("device", "credentials", "ipoh", "--device", "nope")
    assert code == 1
    assert "nope" in err
    assert run("device", "credentials", "ipoh", "--device", "n-1")[0] == 0
    code, _, err = run("device", "credentials", "ipoh", "--device", "n-1")
    assert code == 1
    assert "rotate" in err
    code, _, err = run("device", "credentials", "nowhere", "--out", str(fleet / "x.csv"))
    assert code == 1
    assert not (fleet / "x.csv").exists()  # nothing issued, nothing left behind


def test_broker_files(fleet: Path) -> None:
    code, out, _ = run("device", "credentials", "ipoh")
    passwords = {r["username"]: r["password"] for r in csv.DictReader(io.StringIO(out))}
    passwd, acl = fleet / "broker" / "passwd", fleet / "broker" / "acl"
    passwd.parent.mkdir()
    code, out, err = run("device", "broker-files", "--passwd", str(passwd), "--acl", str(acl))
    assert code == 0, err
    assert "2 devices" in out
    assert (mode(passwd), mode(acl)) == (0o600, 0o644)
    secret_file = fleet / "data" / "mqtt-ingest.secret"
    assert mode(secret_file) == 0o600
    ingest_secret = secret_file.read_text().strip()
    assert "made the signalight-ingest password" in err
    lines = dict(line.split(":", 1) for line in passwd.read_text().splitlines())
    assert sorted(lines) == ["ipoh/n-1", "ipoh/n-2", "signalight-ingest"]
    assert verify_password(lines["ipoh/n-1"], passwords["ipoh/n-1"])
    assert verify_password(lines["signalight-ingest"], ingest_secret)
    assert not any(p in passwd.read_text() for p in [*passwords.values(), ingest_secret])
    assert "pattern write signalight/%u/up" in acl.read_text()
    # Later runs keep the ingest password; a revoked device leaves the files.
    assert run("device", "revoke", "ipoh", "n-2")[0] == 0
    code, _, err = run(
        "device", "broker-files", "--passwd", str(passwd), "--acl", str(acl),
        "--acl-style", "per-device",
    )  # fmt: skip
    assert code == 0, err
    assert "kept the signalight-ingest password" in err
    assert secret_file.read_text().strip() == ingest_secret
    assert sorted(line.split(":")[0] for line in passwd.read_text().splitlines()) == [
        "ipoh/n-1",
        "signalight-ingest",
    ]
    assert "user ipoh/n-1\ntopic write signalight/ipoh/n-1/up\n" in acl.read_text()
    assert "ipoh/n-2" not in acl.read_text()
    assert set(passwd.parent.iterdir()) == {acl, passwd}  # no temporary files left behind


def test_broker_files_for_several_ingest_workers_and_a_simulator(fleet: Path) -> None:
    passwd, acl = fleet / "passwd", fleet / "acl"
    code, _, err = run(
        "device", "broker-files", "--passwd", str(passwd), "--acl", str(acl),
        "--ingest-workers", "2", "--simulator-user", "signalight-sim",
    )  # fmt: skip
    assert code == 0, err
    lines = dict(line.split(":", 1) for line in passwd.read_text().splitlines())
    assert sorted(lines) == ["signalight-ingest", "signalight-ingest-2", "signalight-sim"]
    ingest_secret = (fleet / "data" / "mqtt-ingest.secret").read_text().strip()
    sim_secret = (fleet / "data" / "mqtt-simulator.secret").read_text().strip()
    assert sim_secret != ingest_secret
    assert verify_password(lines["signalight-ingest-2"], ingest_secret)
    assert verify_password(lines["signalight-sim"], sim_secret)
    text = acl.read_text()
    assert "user signalight-ingest-2\ntopic read signalight/#\n" in text
    assert "user signalight-sim\ntopic write signalight/+/+/up\n" in text
    assert "may publish as any device" in err
