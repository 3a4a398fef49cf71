"""Migration 0012 on SQLite and PostgreSQL: the events kept in ``reports`` move out to their own."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, text

from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.migrate import alembic_config
from signalight.domain.assets import AssetKind, AssetRecord
from tests.adapters.test_migration_accounts import engine, postgres_url  # noqa: F401 - fixtures
from tests.conftest import make_city

T = 1_700_006_400.5


def test_events_kept_in_reports_move_to_their_intersection(engine: Engine) -> None:  # noqa: F811
    config = alembic_config(engine)
    command.upgrade(config, "0011")
    db = SqlDatabase(engine)
    city = make_city(db)
    db.assets.upsert_assets(
        city.pk,
        [AssetRecord(kind=AssetKind.INTERSECTION, code="X", lat=5.4, lon=100.4, device="SM")],
    )
    with engine.begin() as conn:
        device, asset = conn.execute(
            text("SELECT id, asset_id FROM devices WHERE uid = 'SM'")
        ).one()
        rows = [
            (T, 2, '{"mode": "normal", "event": [82.0, null, "3"]}'),
            (T + 1, 1, '{"event": [173.0, null, "6"]}'),
            (T + 2, 1, '{"mode": "flash"}'),
        ]
        for at, size, data in rows:
            conn.execute(
                text(
                    "INSERT INTO reports (device_id, time, city_id, size, data)"
                    " VALUES (:d, :t, :c, :s, :data)"
                ),
                {"d": device, "t": at, "c": city.pk, "s": size, "data": data},
            )
    command.upgrade(config, "0012")
    with engine.connect() as conn:
        events = conn.execute(
            text("SELECT asset_id, time, code, param FROM signal_events ORDER BY time")
        ).all()
        reports = conn.execute(text("SELECT time, size FROM reports ORDER BY time")).all()
    assert [tuple(e) for e in events] == [(asset, T, 82, 3), (asset, T + 1, 173, 6)]
    assert [tuple(r) for r in reports] == [(T, 1), (T + 2, 1)]  # the events-only row is gone
    assert db.telemetry.readings(city.pk, device, T - 1, T + 10, {"event"}, 10)[0].value == 82.0
