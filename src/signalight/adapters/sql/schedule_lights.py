"""Implements ``LightDirectory``: a city's streetlights with their schedule keys, in one query.

A light's cabinet is known to the schedules by the cabinet's code, so the
assets are joined to themselves; 100,000 lights are read as plain tuples.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Select, exists, select

from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.tables import assets
from signalight.domain.assets import AssetKind, AssetStatus, LuminaireType
from signalight.domain.assignments import LightKeys, Scope
from signalight.domain.schedule_days import ScheduledLight

__all__ = ["SqlLightDirectory"]

_A = assets.c
_cabinets = assets.alias("cabinets")
_LUMINAIRES = {t.value: t for t in LuminaireType}


class SqlLightDirectory:
    """Implements ``LightDirectory`` over one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def lights(self, city_id: int) -> list[ScheduledLight]:
        """Every streetlight of the city that is not removed."""
        with translated("read scheduled lights"), self._engine.connect() as conn:
            rows = conn.execute(_selected().where(_A.city_id == city_id).order_by(_A.id))
            return [_light(row) for row in rows]

    def light(self, city_id: int, code: str) -> ScheduledLight | None:
        """The city's streetlight with this code, or None."""
        statement = _selected().where(_A.city_id == city_id, _A.code == code)
        with translated("read scheduled light"), self._engine.connect() as conn:
            row = conn.execute(statement).first()
        return None if row is None else _light(row)

    def has_key(self, city_id: int, scope: Scope, key: str) -> bool:
        """Whether ``key`` names an asset, group or cabinet of the city (others: True)."""
        where = [_A.city_id == city_id]
        match scope:
            case Scope.ASSET:
                where += [_A.code == key, _A.kind == AssetKind.STREETLIGHT.value]
            case Scope.GROUP:
                where += [_A.group_name == key]
            case Scope.CABINET:
                where += [_A.code == key, _A.kind == AssetKind.CABINET.value]
            case _:
                return True
        with translated("read schedule key"), self._engine.connect() as conn:
            return bool(conn.execute(select(exists().where(*where))).scalar())


def _selected() -> Select[Any]:
    return (
        select(
            _A.id,
            _A.code,
            _A.group_name,
            _cabinets.c.code.label("cabinet_code"),
            _A.street_class,
            _A.lat,
            _A.lon,
            _A.luminaire,
            _A.rated_watts,
        )
        .select_from(assets)
        .outerjoin(_cabinets, _cabinets.c.id == _A.cabinet_id)
        .where(_A.kind == AssetKind.STREETLIGHT.value, _A.status != AssetStatus.REMOVED.value)
    )


def _light(row: Any) -> ScheduledLight:  # noqa: ANN401 - a row
    keys = LightKeys(row.code, row.group_name or "", row.cabinet_code or "", row.street_class or "")
    luminaire = _LUMINAIRES.get(row.luminaire) if row.luminaire else None
    return ScheduledLight(row.id, keys, row.lat, row.lon, luminaire, row.rated_watts)
