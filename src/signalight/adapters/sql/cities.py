"""Cities in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import Engine, insert, select, update

from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.tables import cities
from signalight.domain.cities import City
from signalight.domain.errors import ConflictError, NotFoundError


class SqlCityRepository:
    """Cities stored in the ``cities`` table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add_city(self, city: City) -> City:
        """Store a new city; ConflictError if its slug is taken."""
        values = asdict(city)
        del values["id"]
        with translated("add city"), self._engine.begin() as conn:
            if conn.execute(select(cities.c.id).where(cities.c.slug == city.slug)).first():
                raise ConflictError(f"a city with slug {city.slug!r} exists already")
            new_id = conn.execute(insert(cities).values(values).returning(cities.c.id)).scalar_one()
        return city.with_changes(id=new_id)

    def get_city(self, slug: str) -> City:
        """The city with that slug; NotFoundError if none."""
        with translated("get city"), self._engine.connect() as conn:
            row = conn.execute(select(cities).where(cities.c.slug == slug)).mappings().first()
        if row is None:
            raise NotFoundError(f"no city {slug!r}")
        return _city(row)

    def list_cities(self, ids: Sequence[int] | None = None) -> list[City]:
        """All cities, or those with the given ids, by slug."""
        query = select(cities).order_by(cities.c.slug)
        if ids is not None:
            query = query.where(cities.c.id.in_(list(ids)))
        with translated("list cities"), self._engine.connect() as conn:
            return [_city(row) for row in conn.execute(query).mappings()]

    def update_city(self, city: City) -> City:
        """Store changed settings of an existing city (its slug and id stay)."""
        values = asdict(city)
        for key in ("id", "slug", "created_at"):
            del values[key]
        with translated("update city"), self._engine.begin() as conn:
            done = conn.execute(update(cities).where(cities.c.id == city.id).values(values))
        if done.rowcount != 1:
            raise NotFoundError(f"no city {city.slug!r}")
        return city


def _city(row: Any) -> City:  # noqa: ANN401 (a SQLAlchemy row mapping)
    return City(**dict(row))
