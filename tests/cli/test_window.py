"""`signalight window`: a window opened on an intersection, listed, ended by its crew."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

from signalight.adapters.sql.database import SqlDatabase
from signalight.container import Container
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.users import AuditAction
from signalight.services.door_windows import DoorAuthority
from signalight.settings import Settings
from tests.cli.cli_rig import run


def test_a_window_from_the_command_line(env: Path) -> None:
    assert run("city", "add", "Ipoh", "--country", "MY", "--lat", "4.6", "--lon", "101.1")[0] == 0
    assert run("user", "add", "ali", "--city", "ipoh", "--role", "crew")[0] == 0
    assert run("user", "add", "bea", "--city", "ipoh", "--role", "crew")[0] == 0
    data = env / "data"
    db = SqlDatabase.connect(f"sqlite:///{data / 'signalight.db'}")
    container = Container(Settings(data_dir=data), db)
    try:
        city = container.cities.get("ipoh")
        junction = container.inventory.create(
            city, AssetRecord(kind=AssetKind.INTERSECTION, code="INT-7", lat=4.6, lon=101.1)
        )
        # Times in the city's zone, written without one: from just now to three hours on.
        now = datetime.now(ZoneInfo(city.timezone))
        start, until = now - timedelta(minutes=5), now + timedelta(hours=3)
        code, out, err = run(
            "window", "add", "ipoh", "INT-7",
            "--from", f"{start:%Y-%m-%dT%H:%M}", "--until", f"{until:%Y-%m-%dT%H:%M}",
            "--who", "ali", "--why", "replace [red] lamp",
        )  # fmt: skip
        assert code == 0, err
        assert out.startswith(f"maintenance window 1 on INT-7 for ali: {start:%Y-%m-%d %H:%M} to")
        assert f"({city.timezone})" in out
        door = DoorAuthority(container.windows)
        text = door(city.pk, junction.id, datetime.now(UTC).timestamp())
        assert text is not None
        assert text.startswith("maintenance window 1 (crew ali: replace [red] lamp), ")

        code, out, err = run("window", "list", "ipoh")
        assert code == 0, err
        assert "INT-7" in out
        assert "active" in out
        assert "replace [red] lamp" in out  # the text, not rich markup
        assert run("window", "list", "ipoh", "--who", "bea", "--json")[:2] == (0, "")
        code, out, _ = run("window", "list", "ipoh", "--asset", "INT-7", "--json")
        (line,) = out.splitlines()
        assert orjson.loads(line)["state"] == "active"

        code, _, err = run("window", "end", "ipoh", "1", "--as", "bea")
        assert code == 1
        assert "not yours" in err
        code, out, err = run("window", "end", "ipoh", "1", "--as", "ali")
        assert code == 0, err
        assert out.strip().endswith(", ended")
        assert door(city.pk, junction.id, datetime.now(UTC).timestamp() + 60) is None
        code, _, err = run("window", "end", "ipoh", "1")
        assert code == 1
        assert "over already" in err
        actions = [e.action for e in container.accounts.audit(city.pk, 2)]
        assert actions == [AuditAction.WINDOW_ENDED, AuditAction.WINDOW_OPENED]
    finally:
        db.close()


def test_bad_windows_are_refused_with_the_reason(env: Path) -> None:
    assert run("city", "add", "Ipoh", "--country", "MY", "--lat", "4.6", "--lon", "101.1")[0] == 0
    assert run("user", "add", "ali", "--city", "ipoh", "--role", "crew")[0] == 0
    base = ("window", "add", "ipoh", "INT-7", "--who", "ali", "--why", "lamp")
    code, _, err = run(*base, "--from", "tomorrow", "--until", "2030-01-01T10:00")
    assert code == 1
    assert "--from: 'tomorrow' is not a time" in err
    code, _, err = run(*base, "--from", "2030-01-01T10:00", "--until", "2030-01-01T12:00")
    assert code == 1
    assert "no intersection or cabinet 'INT-7'" in err
    code, _, err = run("window", "list", "ipoh", "--active-at", "soon")
    assert code == 1
    assert "--active-at" in err
