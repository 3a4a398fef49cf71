"""The `signalight` command as a user runs it, on the embedded database."""

from __future__ import annotations

from pathlib import Path

import pytest

import signalight
from tests.cli.cli_rig import run

MIGRATIONS = Path(signalight.__file__).parent / "adapters" / "sql" / "migrations" / "versions"


def test_city_add_fills_from_the_gazetteer(env: Path) -> None:
    code, out, _ = run("city", "add", "Seberang Perai", "--country", "MY")
    assert code == 0, out
    assert "seberang-perai" in out
    assert "Asia/Kuala_Lumpur" in out
    assert "MYR" in out
    code, out, _ = run(
        "city", "add", "Giessen", "--slug", "gi", "--currency", "eur", "--tariff", "0.3"
    )
    assert code == 0, out
    assert "Europe/Berlin" in out
    assert "EUR" in out
    code, out, _ = run("city", "list")
    assert "seberang-perai" in out
    assert "gi" in out
    assert (env / "data" / "signalight.db").exists()


def test_city_add_reports_unknown_places_and_duplicates(env: Path) -> None:
    code, _, err = run("city", "add", "Xyzzyville", "--country", "MY")
    assert code == 1
    assert "gazetteer" in err
    code, _, _ = run("city", "add", "Ipoh", "--country", "MY", "--lat", "4.6", "--lon", "101.1")
    assert code == 0
    code, _, err = run("city", "add", "Ipoh", "--country", "MY")
    assert code == 1
    assert "exists already" in err


def test_import_export_roundtrip_and_refusal(env: Path) -> None:
    assert run("city", "add", "Ipoh", "--country", "MY")[0] == 0
    good = env / "good.csv"
    good.write_text(
        "Kind;Pole No;lat;lon;cabinet;notes\n"
        "cabinet;CB-1;4.5975;101.0901;;first\n"
        "streetlight;SL-1;4.5979;101.0901;CB-1;\n"
    )
    code, out, err = run("import", "ipoh", str(good), "--map", "Pole No=code", "--map", "notes=-")
    assert code == 0, err
    assert "2 new" in out
    bad = env / "bad.csv"
    bad.write_text("kind,code,lat,lon\nstreetlight,SL-2,4.6,abc\nstreetlight,SL-3,101.09,4.59\n")
    code, _, err = run("import", "ipoh", str(bad))
    assert code == 1
    assert "line 2" in err
    assert "line 3" in err
    assert "nothing was imported" in err
    code, out, _ = run("imports", "ipoh")
    assert "refused" in out
    assert "imported" in out
    exported = env / "out.geojson"
    code, _, _ = run("export", "ipoh", "--format", "geojson", "-o", str(exported))
    assert code == 0
    assert '"SL-1"' in exported.read_text()


def test_user_add_prints_a_token_once(env: Path) -> None:
    assert run("city", "add", "Ipoh", "--country", "MY")[0] == 0
    code, out, err = run("user", "add", "ops", "--city", "ipoh", "--role", "operator")
    assert code == 0, err
    assert out.strip().startswith("slt_")
    code, _, err = run("user", "add", "ops")
    assert code == 1
    assert "exists" in err
    code, out, _ = run("user", "grant", "ops", "ipoh", "admin")
    assert "admin in ipoh" in out


def test_generate_and_info(env: Path) -> None:
    assert run("city", "add", "Ipoh", "--country", "MY")[0] == 0
    code, out, err = run("generate", "ipoh", "--lights", "300", "--intersections", "3")
    assert code == 0, err
    assert "generated" in out
    code, out, _ = run("city", "list")
    assert "300" in out
    code, out, _ = run("info")
    assert str(env / "data") in out.replace("\n", "")
    newest = max(p.name[:4] for p in MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert f"schema {newest}" in out


def test_bad_setting_is_a_clear_error(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNALIGHT_DATABASE_URL", "mysql://nope")
    code, _, err = run("city", "list")
    assert code == 2
    assert "SIGNALIGHT_DATABASE_URL" in err


def test_demo_sets_up_once_and_prints_a_working_token(env: Path) -> None:
    code, out, err = run("demo", "--lights", "200", "--intersections", "2", "--no-serve")
    assert code == 0, err
    assert "admin token" in out
    token = out.split("(shown once): ")[1].split()[0]
    assert token.startswith("slt_")
    code, out, _ = run("city", "list")
    assert "seberang-perai" in out
    assert "200" in out
    # A second run reuses the city and fleet, and issues a fresh token.
    code, out2, err = run("demo", "--lights", "200", "--no-serve")
    assert code == 0, err
    assert "added Seberang Perai" not in out2
    assert out2.split("(shown once): ")[1].split()[0] != token


def test_an_error_quoting_brackets_prints_them_as_given(env: Path) -> None:
    # Rich reads "[/x]" as a closing tag: an error quoting the user's input must not crash.
    code, _, err = run("city", "add", "[/x]", "--country", "MY")
    assert code == 1
    assert "error: no place called '[/x]' in MY" in err


def test_city_add_with_a_centre_and_no_country_takes_the_country_there(env: Path) -> None:
    code, out, err = run("city", "add", "Ipoh", "--lat", "4.6", "--lon", "101.1")
    assert code == 0, err
    assert "country from the gazetteer: MY" in out
    assert "(Ipoh, MY): 4.60000, 101.10000, Asia/Kuala_Lumpur, MYR" in out
    code, _, err = run("city", "add", "Atoll", "--lat", "0", "--lon", "-140")
    assert code == 1
    assert "give --country" in err
