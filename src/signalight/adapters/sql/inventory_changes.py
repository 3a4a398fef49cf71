"""What a change of a city's inventory settles in the same transaction: its alarms and version.

An asset taken out of service (``out_of_service``, ``planned``, ``removed``)
and a device no longer bound to the asset of its alarms leave alarms that
nobody can clear: the condition they name is not watched any more. They are
closed here, by the actor ``inventory``, each with a ``closed`` event that
says why, in the transaction that made the change. The city's inventory
version moves on, so that the fault detector reloads the city's device
profiles (see migration 0007).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import Connection, and_, exists, func, insert, select, text, update

from signalight.adapters.sql.alarm_rows import EVENTS_LOCK, event_row
from signalight.adapters.sql.tables import alarm_events, alarms, assets, devices
from signalight.domain.alarms import AlarmState, EventKind
from signalight.domain.assets import AssetStatus

__all__ = ["INVENTORY_ACTOR", "settle_inventory"]

INVENTORY_ACTOR: Final = "inventory"
_BUMP: Final = text(
    "INSERT INTO inventory_versions (city_id, version) VALUES (:city, 1) "
    "ON CONFLICT (city_id) DO UPDATE SET version = inventory_versions.version + 1"
)
_NOT_WATCHED: Final = "its asset is no longer in service, or its device no longer bound to it"


def settle_inventory(conn: Connection, city_id: int, at: float) -> int:
    """Close the city's alarms that no longer stand and move its inventory version on.

    Args:
        conn: The transaction that changed the inventory.
        city_id: The city whose inventory changed.
        at: Now, in UTC epoch seconds.

    Returns:
        How many alarms were closed.
    """
    conn.execute(_BUMP, {"city": city_id})
    out_of_service = select(assets.c.id).where(
        assets.c.city_id == city_id, assets.c.status != AssetStatus.IN_SERVICE.value
    )
    still_bound = exists().where(
        devices.c.id == alarms.c.device_id, devices.c.asset_id == alarms.c.asset_id
    )
    orphaned = alarms.c.asset_id.in_(out_of_service) | and_(
        alarms.c.device_id.is_not(None), alarms.c.asset_id.is_not(None), ~still_bound
    )
    found = conn.execute(
        select(alarms.c.id).where(
            alarms.c.city_id == city_id,
            alarms.c.state != AlarmState.CLOSED.value,
            orphaned,
        )
    ).all()
    if not found:
        return 0
    if conn.dialect.name == "postgresql":  # events become visible in id order
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENTS_LOCK})
    ids = [alarm_id for (alarm_id,) in found]
    conn.execute(
        update(alarms)
        .where(alarms.c.id.in_(ids))
        .values(
            state=AlarmState.CLOSED.value,
            cleared_at=func.coalesce(alarms.c.cleared_at, at),
            closed_at=at,
            closed_by=INVENTORY_ACTOR,
            updated_at=at,
        )
    )
    conn.execute(
        insert(alarm_events),
        [
            event_row(
                alarm_id,
                city_id,
                EventKind.CLOSED,
                at,
                AlarmState.CLOSED,
                INVENTORY_ACTOR,
                _NOT_WATCHED,
            )
            for alarm_id in ids
        ],
    )
    return len(found)
