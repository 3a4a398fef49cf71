"""Devices' credential hashes in SQL: set per device, read for the broker's files."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Engine, bindparam, select, update

from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.tables import cities, devices
from signalight.domain.errors import NotFoundError


class SqlDeviceCredentialStore:
    """The ``credential_hash`` column of ``devices``; secrets in clear never come here."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def set_credentials(self, city_id: int, hashes: Mapping[str, str | None]) -> None:
        """Store each device's new hash (None removes it) in one transaction: all or nothing.

        NotFoundError, and nothing stored, if any device is not in the city.
        """
        if not hashes:
            return
        stmt = (
            update(devices)
            .where(devices.c.city_id == city_id, devices.c.uid == bindparam("b_uid"))
            .values(credential_hash=bindparam("b_hash"))
        )
        rows = [{"b_uid": uid, "b_hash": value} for uid, value in hashes.items()]
        with translated("store device credentials"), self._engine.begin() as conn:
            known = set(
                conn.execute(select(devices.c.uid).where(devices.c.city_id == city_id)).scalars()
            )
            missing = sorted(set(hashes) - known)
            if missing:
                raise NotFoundError(f"no device {', '.join(map(repr, missing[:5]))} in this city")
            conn.execute(stmt, rows)

    def credentials(self, city_id: int | None = None) -> list[tuple[str, str, str]]:
        """``(city slug, device id, hash)`` of every device that has credentials, sorted."""
        stmt = (
            select(cities.c.slug, devices.c.uid, devices.c.credential_hash)
            .join(cities, cities.c.id == devices.c.city_id)
            .where(devices.c.credential_hash.is_not(None))
            .order_by(cities.c.slug, devices.c.uid)
        )
        if city_id is not None:
            stmt = stmt.where(devices.c.city_id == city_id)
        with translated("read device credentials"), self._engine.connect() as conn:
            return [(slug, uid, value) for slug, uid, value in conn.execute(stmt)]
