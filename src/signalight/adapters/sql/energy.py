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
from typing import Any, Final

from sqlalchemy import Connection, Engine, Result, text

from signalight.adapters.sql.counter_sql import rise_sql
from signalight.adapters.sql.errors import translated
from signalight.domain.energy import GAP_DAY_WEIGHT, EnergyRow, MeteredLight
from signalight.domain.energy_periods import Grouping

__all__ = ["SqlEnergyReads"]

# An hour's start, its period (-1: none), its dark share, its period's start (-1: none).
HourRow = tuple[float, int, float, float]

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


def _parts(greatest: str, least: str) -> str:
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
    """  # noqa: S608 - the expressions are ours


# What each key used per period: the counted hours' rows grouped.
_LIVE: Final = """
    SELECT {key} AS key, m.period, sum(p.wh), count(DISTINCT p.device_id)
    FROM parts p
    JOIN energy_hours m ON m.hour = p.hour AND m.period >= 0
    JOIN devices d ON d.id = p.device_id
    JOIN assets a ON a.id = d.asset_id
    LEFT JOIN assets cab ON cab.id = a.cabinet_id
    WHERE a.kind = 'streetlight' AND a.status = 'in_service'
    GROUP BY 1, 2
"""
# Each device's settled days: the periods are the days, ``start`` their local midnight.
_SETTLE: Final = """
    INSERT INTO energy_days (device_id, day, city_id, wh)
    SELECT p.device_id, m.start, :city, sum(p.wh)
    FROM parts p JOIN energy_hours m ON m.hour = p.hour AND m.period >= 0
    GROUP BY p.device_id, m.start
"""
# The settled days of the report, per key and the report's period of each day.
_SETTLED: Final = """
    SELECT {key} AS key, m.period, sum(e.wh), count(DISTINCT e.device_id)
    FROM energy_days e
    JOIN energy_hours m ON m.hour = e.day
    JOIN devices d ON d.id = e.device_id
    JOIN assets a ON a.id = d.asset_id
    LEFT JOIN assets cab ON cab.id = a.cabinet_id
    WHERE e.city_id = :city AND e.day >= :lo AND e.day < :hi
      AND a.kind = 'streetlight' AND a.status = 'in_service'
    GROUP BY 1, 2
"""


class SqlEnergyReads:
    """The energy queries of one database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        postgres = engine.dialect.name == "postgresql"
        self._parts = _parts("GREATEST" if postgres else "max", "LEAST" if postgres else "min")
        self._temp = (
            "CREATE TEMP TABLE energy_hours (hour double precision PRIMARY KEY,"
            " period integer NOT NULL, dark double precision NOT NULL,"
            " start double precision NOT NULL) ON COMMIT DROP"
            if postgres
            else "CREATE TEMP TABLE energy_hours (hour FLOAT PRIMARY KEY,"
            " period INTEGER NOT NULL, dark FLOAT NOT NULL, start FLOAT NOT NULL)"
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
        statement = self._parts + _LIVE.format(key=_KEYS[grouping])
        with translated("report energy"), self._engine.connect() as conn:
            rows: list[Any] = list(self._staged(conn, hours, statement, city_id))
            self._unstage(conn)
            conn.rollback()
        return [EnergyRow(str(key), int(p), float(wh or 0.0), int(n)) for key, p, wh, n in rows]

    def settled_days(self, city_id: int, start: float, end: float) -> set[float]:
        """The city's settled days (their local midnights) in ``[start, end)``."""
        query = "SELECT day FROM energy_settled WHERE city_id = :city AND day >= :lo AND day < :hi"
        bounds = {"city": city_id, "lo": start, "hi": end}
        with translated("read settled days"), self._engine.connect() as conn:
            return {float(day) for (day,) in conn.execute(text(query), bounds)}

    def settle(
        self, city_id: int, hours: Sequence[HourRow], days: Sequence[float], at: float
    ) -> None:
        """Store what each light used on ``days`` (local midnights), counted over ``hours``.

        ``hours`` map each hour of those days to the day's index (-1 for the
        hours around them) and carry the day's midnight in ``starts``; days
        settled before are counted again and replaced.
        """
        if not days or not hours:
            return
        wanted = [{"city": city_id, "day": day, "at": at} for day in days]
        with translated("settle energy days"), self._engine.begin() as conn:
            conn.execute(
                text("DELETE FROM energy_days WHERE city_id = :city AND day = :day"), wanted
            )
            conn.execute(
                text("DELETE FROM energy_settled WHERE city_id = :city AND day = :day"), wanted
            )
            self._staged(conn, hours, self._parts + _SETTLE, city_id)
            conn.execute(
                text("INSERT INTO energy_settled VALUES (:city, :day, :at)"),
                wanted,
            )
            self._unstage(conn)

    def settled_energy(
        self, city_id: int, days: Sequence[tuple[float, int]], grouping: Grouping
    ) -> list[EnergyRow]:
        """What the lights used per key and period on settled ``days`` (midnight, period)."""
        if not days:
            return []
        statement = _SETTLED.format(key=_KEYS[grouping])
        bounds = {"city": city_id, "lo": days[0][0], "hi": days[-1][0] + 1.0}
        with translated("report settled energy"), self._engine.connect() as conn:
            self._stage(conn, [(day, period, 0.0, day) for day, period in days])
            rows: list[Any] = list(conn.execute(text(statement), bounds))
            self._unstage(conn)
            conn.rollback()
        return [EnergyRow(str(key), int(p), float(wh or 0.0), int(n)) for key, p, wh, n in rows]

    def _staged(
        self, conn: Connection, hours: Sequence[HourRow], statement: str, city_id: int
    ) -> Result[Any]:
        """Run ``statement`` over the hourly rollups of ``hours``, staged in a temporary table."""
        self._stage(conn, [(hour, period, dark, start) for hour, period, dark, start in hours])
        if self._postgres:
            # A report's one statement sorts and hashes a month of rows: let it use
            # memory rather than disk, and skip compiling it (JIT costs more than it saves).
            conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
            conn.exec_driver_sql("SET LOCAL jit = off")
            conn.exec_driver_sql("ANALYZE energy_hours")
        bounds = {"city": city_id, "lo": hours[0][0], "hi": hours[-1][0] + 3600.0}
        return conn.execute(text(statement), bounds)

    def _stage(self, conn: Connection, hours: Sequence[tuple[float, int, float, float]]) -> None:
        self._unstage(conn)
        conn.exec_driver_sql(self._temp)
        conn.execute(
            text("INSERT INTO energy_hours (hour, period, dark, start) VALUES (:h, :p, :d, :s)"),
            [{"h": h, "p": p, "d": d, "s": start} for h, p, d, start in hours],
        )

    def _unstage(self, conn: Connection) -> None:
        """Drop the temporary table (PostgreSQL drops it at commit or rollback anyway)."""
        conn.exec_driver_sql("DROP TABLE IF EXISTS energy_hours")
