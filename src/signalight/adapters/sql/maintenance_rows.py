"""Incidents, work orders, notes and photos as rows: one way to read and write them."""

from __future__ import annotations

from typing import Any

from signalight.domain.alarms import Severity
from signalight.domain.maintenance import (
    Confirmation,
    Incident,
    Part,
    Photo,
    WorkOrder,
    WorkOrderNote,
    WorkOrderState,
)

__all__ = ["incident_of", "note_of", "order_of", "order_row", "parts_json", "photo_of"]


def parts_json(parts: tuple[Part, ...]) -> list[dict[str, Any]]:
    """The parts as the JSON column keeps them."""
    return [{"part": p.part, "quantity": p.quantity} for p in parts]


def order_row(order: WorkOrder) -> dict[str, Any]:
    """The row of a new work order."""
    return {
        "city_id": order.city_id,
        "incident_id": order.incident_id,
        "asset_id": order.asset_id,
        "asset_code": order.asset_code,
        "title": order.title,
        "priority": str(order.priority),
        "crew": order.crew,
        "state": str(order.state),
        "due_at": order.due_at,
        "created_at": order.created_at,
        "created_by": order.created_by,
        "started_at": order.started_at,
        "finished_at": order.finished_at,
        "confirmation": None if order.confirmation is None else str(order.confirmation),
        "confirmed_at": order.confirmed_at,
        "parts": parts_json(order.parts),
        "updated_at": order.updated_at or order.created_at,
    }


def order_of(row: Any, alarm_ids: tuple[int, ...] = ()) -> WorkOrder:  # noqa: ANN401 - a row
    """The work order a row holds, with its incident's alarm ids."""
    m = row._mapping  # noqa: SLF001 - SQLAlchemy's public mapping view of a row
    confirmation = m["confirmation"]
    return WorkOrder(
        id=m["id"],
        city_id=m["city_id"],
        incident_id=m["incident_id"],
        asset_id=m["asset_id"],
        asset_code=m["asset_code"],
        title=m["title"],
        priority=Severity(m["priority"]),
        crew=m["crew"],
        state=WorkOrderState(m["state"]),
        due_at=m["due_at"],
        created_at=m["created_at"],
        created_by=m["created_by"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        confirmation=None if confirmation is None else Confirmation(confirmation),
        confirmed_at=m["confirmed_at"],
        parts=tuple(Part(p["part"], int(p["quantity"])) for p in m["parts"] or ()),
        alarm_ids=alarm_ids,
        updated_at=m["updated_at"],
    )


def incident_of(row: Any, alarm_ids: tuple[int, ...]) -> Incident:  # noqa: ANN401 - a row
    """The incident a row holds, with its alarm ids."""
    m = row._mapping  # noqa: SLF001 - as above
    return Incident(
        id=m["id"],
        city_id=m["city_id"],
        asset_id=m["asset_id"],
        opened_at=m["opened_at"],
        closed_at=m["closed_at"],
        alarm_ids=alarm_ids,
    )


def note_of(row: Any) -> WorkOrderNote:  # noqa: ANN401 - a row
    """The note a row holds."""
    m = row._mapping  # noqa: SLF001 - as above
    return WorkOrderNote(
        id=m["id"], work_order_id=m["work_order_id"], at=m["at"], author=m["author"], text=m["text"]
    )


def photo_of(row: Any) -> Photo:  # noqa: ANN401 - a row
    """The photo a row holds; its bytes only if the row has them."""
    m = row._mapping  # noqa: SLF001 - as above
    return Photo(
        id=m["id"],
        work_order_id=m["work_order_id"],
        at=m["at"],
        author=m["author"],
        media_type=m["media_type"],
        width=m["width"],
        height=m["height"],
        data=bytes(m["data"]) if "data" in m else b"",
    )
