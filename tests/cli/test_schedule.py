"""`signalight schedule`: a profile from a file, assigned, a festival night, an override, a day."""

from __future__ import annotations

from pathlib import Path

import orjson

from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.assets import AssetKind, AssetRecord, StreetClass
from tests.cli.cli_rig import run
from tests.services.schedule_rig import EXAMPLE, FULL


def test_schedules_from_the_command_line(env: Path) -> None:
    code, _, err = run("city", "add", "Penang", "--country", "MY", "--lat", "5.4", "--lon", "100.3")
    assert code == 0, err
    db = SqlDatabase.connect(f"sqlite:///{env / 'data' / 'signalight.db'}")
    try:
        city = db.cities.get_city("penang")
        db.assets.upsert_assets(
            city.pk,
            [
                AssetRecord(
                    kind=AssetKind.STREETLIGHT,
                    code="P-1",
                    lat=5.4,
                    lon=100.3,
                    street_class=StreetClass.LOCAL,
                    rated_watts=100.0,
                ),
            ],
        )
    finally:
        db.close()
    (env / "res.json").write_bytes(orjson.dumps(EXAMPLE))
    (env / "full.json").write_bytes(orjson.dumps(FULL))
    (env / "bad.json").write_bytes(
        orjson.dumps(dict(EXAMPLE, name="x", steps=EXAMPLE["steps"][:1]))
    )
    code, out, err = run("schedule", "profile", "add", "penang", "--file", str(env / "res.json"))
    assert code == 0, err
    assert "'residential': sunset+5 min 100%, 23:00 60%" in out
    assert run("schedule", "profile", "add", "penang", "--file", str(env / "full.json"))[0] == 0
    code, _, err = run("schedule", "profile", "add", "penang", "--file", str(env / "bad.json"))
    assert code == 1
    assert "2 to 24 steps" in err
    code, out, _ = run("schedule", "profile", "list", "penang")
    assert "residential" in out
    assert "festival" in out
    code, out, _ = run("schedule", "profile", "show", "penang", "residential")
    assert orjson.loads(out) == dict(EXAMPLE, off_windows=[])
    code, out, err = run(
        "schedule",
        "assign",
        "penang",
        "--profile",
        "residential",
        "--scope",
        "street_class",
        "--key",
        "local",
    )
    assert code == 0, err
    assert "street_class local follows 'residential' on weekdays 0,1,2,3,4,5,6" in out
    code, _, err = run(
        "schedule",
        "assign",
        "penang",
        "--profile",
        "residential",
        "--scope",
        "street_class",
        "--key",
        "residential",
    )
    assert code == 1
    assert "no street class 'residential'" in err
    code, out, err = run(
        "schedule",
        "calendar",
        "add",
        "penang",
        "--name",
        "Festival",
        "--first",
        "2026-03-04",
        "--last",
        "2026-03-04",
        "--profile",
        "festival",
    )
    assert code == 0, err
    code, out, err = run("schedule", "show", "penang", "P-1", "--date", "2026-03-04")
    assert code == 0, err
    assert (
        "morning: night of 2026-03-03: profile 'residential' by assignment (street_class local)"
        in out
    )
    assert "evening: night of 2026-03-04: profile 'festival' by calendar 'Festival' (city)" in out
    assert "  00:00-01:00  60%" in out
    assert "  01:00-05:00  30%" in out
    code, out, err = run(
        "schedule",
        "override",
        "add",
        "penang",
        "--scope",
        "asset",
        "--key",
        "P-1",
        "--mode",
        "off",
        "--for",
        "2h",
        "--reason",
        "cable works",
    )
    assert code == 0, err
    override_id = out.split()[1].rstrip(":")
    code, out, _ = run("schedule", "show", "penang", "P-1")
    assert "cable works" in out
    assert run("schedule", "override", "end", "penang", override_id)[0] == 0
    code, _, err = run("schedule", "override", "end", "penang", override_id)
    assert code == 1
    assert "over already" in err
    code, _, err = run(
        "schedule",
        "override",
        "add",
        "penang",
        "--scope",
        "city",
        "--mode",
        "on",
        "--for",
        "2 hours",
        "--reason",
        "x",
    )
    assert code == 1
    assert "--for" in err
