"""A city's live state for the map and its figures: three whole-city reads, none per asset.

The map of a hundred thousand lights is four plain reads (the assets, the
cabinets' codes, the bound devices, their newest messages) joined in memory,
and one read of the few thousand open alarms; the rules that turn them into statuses are
``signalight.services.map_status``'s.
"""

from __future__ import annotations

import operator
import sys
from typing import Final

from sqlalchemy import Engine, and_, func, select
from sqlalchemy.orm import aliased

from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.tables import (
    alarm_events,
    alarms,
    assets,
    device_states,
    devices,
    inventory_versions,
)
from signalight.domain.alarms import ACTIVE_STATES, EventKind, Severity
from signalight.domain.assets import AssetKind
from signalight.domain.status import AlarmMark, MapAsset

__all__ = ["SqlStatusReads"]

_ACTIVE: Final = sorted(str(s) for s in ACTIVE_STATES)
# The steps that start an occurrence of an alarm: the clock of its repair starts there.
_BEGINS: Final = sorted(str(k) for k in (EventKind.RAISED, EventKind.HELD, EventKind.REOPENED))
_by_id: Final = operator.itemgetter(0)


class SqlStatusReads:
    """Implements ``StatusReads`` over one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def map_assets(
        self,
        city_id: int,
        bbox: tuple[float, float, float, float] | None = None,
        kind: AssetKind | None = None,
    ) -> list[MapAsset]:
        """The city's assets (in the bbox, of the kind, if given) by id, with their devices.

        Four plain reads joined here by dictionaries: on SQLite one join of the
        four tables costs three index searches per asset, twice the time.
        """
        where = [assets.c.city_id == city_id]
        if kind is not None:
            where.append(assets.c.kind == kind.value)
        if bbox is not None:
            west, south, east, north = bbox
            where += [assets.c.lon.between(west, east), assets.c.lat.between(south, north)]
        listed = select(
            assets.c.id,
            assets.c.kind,
            assets.c.code,
            assets.c.lon,
            assets.c.lat,
            assets.c.status,
            assets.c.cabinet_id,
            assets.c.street_class,
        ).where(*where)
        cabinets = select(assets.c.id, assets.c.code).where(
            assets.c.city_id == city_id, assets.c.kind == AssetKind.CABINET.value
        )
        bound = select(devices.c.asset_id, devices.c.id, devices.c.kind).where(
            devices.c.city_id == city_id, devices.c.asset_id.is_not(None)
        )
        seen = select(device_states.c.device_id, device_states.c.last_seen).where(
            device_states.c.city_id == city_id
        )
        with translated("read the map"), self._engine.connect() as conn:
            codes = dict(conn.execute(cabinets).all())
            last_seen = dict(conn.execute(seen).all())
            device_of = {
                asset: (sys.intern(device_kind), last_seen.get(device))
                for asset, device, device_kind in conn.execute(bound)
            }
            rows = conn.execute(listed).all()
        unbound = (None, None)
        found = [
            MapAsset(
                asset_id,
                asset_kind,
                code,
                lon,
                lat,
                status,
                codes.get(cabinet) if cabinet is not None else None,
                street_class,
                *device_of.get(asset_id, unbound),
            )
            for asset_id, asset_kind, code, lon, lat, status, cabinet, street_class in rows
        ]
        found.sort(key=_by_id)
        return found

    def stamp(self, city_id: int) -> tuple[int, int]:
        """The city's inventory version and its newest alarm event's id (two index reads)."""
        version = select(inventory_versions.c.version).where(
            inventory_versions.c.city_id == city_id
        )
        newest = select(func.max(alarm_events.c.id)).where(alarm_events.c.city_id == city_id)
        with translated("read the map's stamp"), self._engine.connect() as conn:
            return (conn.execute(version).scalar() or 0, conn.execute(newest).scalar() or 0)

    def open_alarms(self, city_id: int) -> dict[int, list[AlarmMark]]:
        """The city's raised and acknowledged alarms (held ones too), by asset id."""
        statement = select(
            alarms.c.asset_id, alarms.c.type, alarms.c.severity, alarms.c.held
        ).where(
            alarms.c.city_id == city_id,
            alarms.c.state.in_(_ACTIVE),
            alarms.c.asset_id.is_not(None),
        )
        found: dict[int, list[AlarmMark]] = {}
        severities = {s.value: s for s in Severity}
        with translated("read open alarms"), self._engine.connect() as conn:
            for asset_id, kind, severity, held in conn.execute(statement):
                found.setdefault(asset_id, []).append(
                    AlarmMark(kind, severities[severity], bool(held))
                )
        return found

    def repairs(self, city_id: int, since: float, until: float) -> list[tuple[float, float]]:
        """(began, cleared) of each clearing of an alarm in [since, until), epoch seconds.

        The events say when: an inventory change closes alarms with no
        ``cleared`` event (nothing was repaired), and a reopened alarm's
        occurrence began at its ``reopened`` event, not at its first raise.
        """
        began_step = aliased(alarm_events, name="began_step")
        began = (
            select(func.max(began_step.c.at))
            .where(
                began_step.c.alarm_id == alarm_events.c.alarm_id,
                began_step.c.id < alarm_events.c.id,
                began_step.c.kind.in_(_BEGINS),
            )
            .scalar_subquery()
        )
        statement = (
            select(func.coalesce(began, alarms.c.raised_at), alarm_events.c.at)
            .select_from(alarm_events)
            .join(alarms, alarms.c.id == alarm_events.c.alarm_id)
            .where(
                and_(
                    alarm_events.c.city_id == city_id,
                    alarm_events.c.kind == EventKind.CLEARED.value,
                    alarm_events.c.at >= since,
                    alarm_events.c.at < until,
                )
            )
        )
        with translated("read repairs"), self._engine.connect() as conn:
            return [(float(start), float(end)) for start, end in conn.execute(statement)]
