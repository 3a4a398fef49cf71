"""Energy reports in SQL: what a city's lights used, per key and period, from the hourly rollups.

One statement does the counting where the rows are, the same on SQLite and
PostgreSQL (window functions, a temporary table of the report's hours):

- a counter light's hour counts what its counter counted within the hour
  (``energy_rise``, migration 0016) and the step from its previous hour's
  last reading to this hour's first (:func:`counter_sql.rise_sql`);
- after a gap (no rollup for an hour or more) that step is spread over the
  gap's hours by their dark share, as :func:`domain.energy.spread` does;
- a light without a counter counts its power's mean held for each hour.

The caller gives the hours of the report (and around it, so that a step
after a gap is seen) with the period each belongs to (-1: none) and its dark
share at the city's centre; the rows come back per key and period.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy import Connection, Engine, text

from signalight.adapters.sql.counter_sql import rise_sql
from signalight.adapters.sql.errors import translated
from signalight.domain.energy import GAP_DAY_WEIGHT, EnergyRow, MeteredLight
from signalight.domain.energy_periods import Grouping

__all__ = ["SqlEnergyReads"]

HourRow = tuple[float, int, float]  # an hour's start, its period (-1: none), its dark share

# The key a light's rows add up under, per grouping.
_KEYS: Final = {
    Grouping.CITY: "''",
    Grouping.CABINET: "coalesce(cab.code, '')",
    Grouping.GROUP: "a.group_name",
    Grouping.STREET_CLASS: "coalesce(a.street_class, '')",
    Grouping.LIGHT: "a.code",
}
_LIGHTS: Final = """
    SELECT a.id, d.id, a.code, coalesce(cab.code, ''), a.group_name, coalesce(a.street_class, ''),
           a.lat, a.lon, a.rated_watts, a.luminaire
    FROM assets a JOIN devices d ON d.asset_id = a.id
    LEFT JOIN assets cab ON cab.id = a.cabinet_id
    WHERE a.city_id = :city AND a.kind = 'streetlight' AND a.status = 'in_service'
    ORDER BY a.code
"""


def _report(greatest: str, least: str) -> str:
    step = rise_sql("prev_last", "prev_at", "energy_first", "energy_first_at", greatest)
    return f"""
    WITH r AS (
        SELECT device_id, hour, energy_rise, energy_first, energy_first_at,
               lag(hour) OVER w AS prev_hour, lag(energy_last) OVER w AS prev_last,
               lag(energy_last_at) OVER w AS prev_at
        FROM reading_hours
        WHERE city_id = :city AND hour >= :lo AND hour < :hi AND energy_rise IS NOT NULL
        WINDOW w AS (PARTITION BY device_id ORDER BY hour)
    ), s AS (
        SELECT device_id, hour, energy_rise AS own, prev_hour, prev_at, energy_first_at AS at,
               CASE WHEN prev_last IS NULL THEN 0.0 ELSE {step} END AS step
        FROM r
    ), g AS (
        SELECT s.device_id, s.hour AS gap, m.hour, s.step, (
                   {least}(s.at, m.hour + 3600.0) - {greatest}(s.prev_at, m.hour)
               ) * (m.dark + {GAP_DAY_WEIGHT!r}) AS weight
        FROM s JOIN energy_hours m ON m.hour > s.prev_at - 3600.0 AND m.hour < s.at
        WHERE s.prev_hour < s.hour - 3600.0 AND s.step > 0.0 AND s.at > s.prev_at
    ), parts AS (
        SELECT device_id, hour, own + CASE
                   WHEN prev_hour IS NULL OR prev_hour >= hour - 3600.0 OR at <= prev_at
                   THEN step ELSE 0.0 END AS wh
        FROM s
        UNION ALL
        SELECT device_id, hour,
               step * weight / nullif(sum(weight) OVER (PARTITION BY device_id, gap), 0.0) AS wh
        FROM g
        UNION ALL
        SELECT h.device_id, h.hour, h.power_sum / h.power_count AS wh
        FROM reading_hours h
        WHERE h.city_id = :city AND h.hour >= :lo AND h.hour < :hi AND h.power_count > 0
          AND h.energy_rise IS NULL AND NOT EXISTS (
              SELECT 1 FROM reading_hours x WHERE x.device_id = h.device_id
              AND x.hour >= :lo AND x.hour < :hi AND x.energy_rise IS NOT NULL)
    )
    SELECT {{key}} AS key, m.period, sum(p.wh), count(DISTINCT p.device_id)
    FROM parts p
    JOIN energy_hours m ON m.hour = p.hour AND m.period >= 0
    JOIN devices d ON d.id = p.device_id
    JOIN assets a ON a.id = d.asset_id
    LEFT JOIN assets cab ON cab.id = a.cabinet_id
    WHERE a.kind = 'streetlight' AND a.status = 'in_service'
    GROUP BY 1, 2
    """  # noqa: S608 - the expressions are ours


class SqlEnergyReads:
    """The energy queries of one database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        postgres = engine.dialect.name == "postgresql"
        self._report = _report("GREATEST" if postgres else "max", "LEAST" if postgres else "min")
        self._temp = (
            "CREATE TEMP TABLE energy_hours (hour double precision PRIMARY KEY,"
            " period integer NOT NULL, dark double precision NOT NULL) ON COMMIT DROP"
            if postgres
            else "CREATE TEMP TABLE energy_hours (hour FLOAT PRIMARY KEY,"
            " period INTEGER NOT NULL, dark FLOAT NOT NULL)"
        )
        self._postgres = postgres

    def lights(self, city_id: int) -> list[MeteredLight]:
        """The city's streetlights in service with a device: what a report counts."""
        with translated("read metered lights"), self._engine.connect() as conn:
            rows = conn.execute(text(_LIGHTS), {"city": city_id}).all()
        return [MeteredLight(*row) for row in rows]

    def energy(self, city_id: int, hours: Sequence[HourRow], grouping: Grouping) -> list[EnergyRow]:
        """What the lights used per key and period over ``hours`` (sorted, consecutive).

        Rows are counted in every hour given; only those of a period (>= 0)
        are reported.
        """
        if not hours:
            return []
        statement = self._report.format(key=_KEYS[grouping])
        bounds = {"city": city_id, "lo": hours[0][0], "hi": hours[-1][0] + 3600.0}
        with translated("report energy"), self._engine.connect() as conn:
            self._stage(conn, hours)
            try:
                rows = conn.execute(text(statement), bounds).all()
            finally:
                if not self._postgres:
                    conn.exec_driver_sql("DROP TABLE IF EXISTS temp.energy_hours")
                conn.rollback()
        return [EnergyRow(str(key), int(p), float(wh or 0.0), int(n)) for key, p, wh, n in rows]

    def _stage(self, conn: Connection, hours: Sequence[HourRow]) -> None:
        if not self._postgres:  # a temporary table of SQLite lasts as long as its connection
            conn.exec_driver_sql("DROP TABLE IF EXISTS temp.energy_hours")
        conn.exec_driver_sql(self._temp)
        conn.execute(
            text("INSERT INTO energy_hours (hour, period, dark) VALUES (:h, :p, :d)"),
            [{"h": h, "p": p, "d": d} for h, p, d in hours],
        )
