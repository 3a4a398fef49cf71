"""`signalight workorder`: an order made from an alarm, worked as the crew, finished, confirmed."""

from __future__ import annotations

from pathlib import Path

import orjson

from signalight.adapters.sql.database import SqlDatabase
from signalight.container import Container
from signalight.domain.alarms import AlarmState
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.settings import Settings
from tests.cli.cli_rig import run
from tests.services.maintenance_rig import clear_alarm, raise_alarm


def test_an_order_from_alarm_to_confirmed_fix(env: Path) -> None:
    assert run("city", "add", "Ipoh", "--country", "MY", "--lat", "4.6", "--lon", "101.1")[0] == 0
    assert run("user", "add", "ann", "--city", "ipoh", "--role", "crew")[0] == 0
    assert run("user", "add", "bob", "--city", "ipoh", "--role", "crew")[0] == 0
    data = env / "data"
    db = SqlDatabase.connect(f"sqlite:///{data / 'signalight.db'}")
    container = Container(Settings(data_dir=data), db)
    try:
        city = container.cities.get("ipoh")
        light = container.inventory.create(
            city, AssetRecord(kind=AssetKind.STREETLIGHT, code="SL-1", lat=4.6, lon=101.1)
        )
        alarm = raise_alarm(container, city, light)

        code, out, err = run("workorder", "create", "--city", "ipoh", "--alarm", str(alarm.pk))
        assert code == 0, err
        assert "work order 1: open (no crew)" in out
        code, _, err = run("workorder", "start", "--city", "ipoh", "1")
        assert code == 1
        assert "only an assigned order can be started" in err
        assert run("workorder", "assign", "--city", "ipoh", "1", "ann")[0] == 0
        code, _, err = run("workorder", "start", "--city", "ipoh", "1", "--as", "bob")
        assert code == 1
        assert "not assigned to you" in err
        assert run("workorder", "start", "--city", "ipoh", "1", "--as", "ann")[0] == 0
        assert (
            run("workorder", "note", "--city", "ipoh", "1", "ladder needed", "--as", "ann")[0] == 0
        )
        code, out, err = run(
            "workorder",
            "finish",
            "--city",
            "ipoh",
            "1",
            "--part",
            "lamp",
            "--part",
            "fuse:2",
            "--as",
            "ann",
        )
        assert code == 0, err
        assert "work order 1: done, not_confirmed (ann)" in out

        clear_alarm(container, alarm)
        assert [o.pk for o in container.maintenance.confirm_repairs(city.pk)] == [1]
        assert container.alarms.get(city, alarm.pk).state is AlarmState.CLOSED

        code, out, _ = run("workorder", "show", "--city", "ipoh", "1")
        assert "work order 1: done, confirmed (ann)" in out
        assert "lamp x1, fuse x2" in out
        assert "ann: ladder needed" in out
        code, out, _ = run("workorder", "list", "--city", "ipoh", "--json")
        rows = [orjson.loads(line) for line in out.splitlines()]
        assert [(r["id"], r["state"], r["confirmation"]) for r in rows] == [
            (1, "done", "confirmed")
        ]
        code, out, _ = run("workorder", "list", "--city", "ipoh", "--state", "open")
        assert "SL-1" not in out
        code, _, err = run(
            "workorder",
            "create",
            "--city",
            "ipoh",
            "--asset",
            "SL-1",
            "--title",
            "pole",
            "--priority",
            "minor",
            "--crew",
            "ann",
        )
        assert code == 0, err
        assert run("workorder", "cancel", "--city", "ipoh", "2", "--note", "dup")[0] == 0
        code, _, err = run("workorder", "cancel", "--city", "ipoh", "2")
        assert code == 1
        assert "cannot cancel" in err
    finally:
        db.close()
