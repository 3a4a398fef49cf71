"""What the scorer is given: a city's assets as scoring facts, its faults, its alarms."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from signalight.domain.alarms import Alarm, AlarmQuery, AlarmState
from signalight.domain.assets import Asset, AssetKind, AssetStatus
from signalight.services.fault_visibility import FaultSite, Truth

if TYPE_CHECKING:
    from signalight.ports import AlarmStore
    from signalight.sim.truth import TruthEntry

__all__ = ["all_alarms", "sites_of", "truths_of"]


def sites_of(assets: Iterable[Asset]) -> dict[str, FaultSite]:
    """Each asset's scoring facts by code, from a city's stored assets."""
    listed = list(assets)
    codes = {asset.id: asset.code for asset in listed}
    lights: dict[int, int] = defaultdict(int)
    for asset in listed:
        if asset.kind is AssetKind.STREETLIGHT and asset.cabinet_id and asset.device:
            lights[asset.cabinet_id] += 1
    return {
        asset.code: FaultSite(
            asset.code,
            asset.kind,
            asset.lat,
            asset.lon,
            codes.get(asset.cabinet_id) if asset.cabinet_id else None,
            asset.device is not None and asset.status is AssetStatus.IN_SERVICE,
            lights.get(asset.id, 0),
            asset.id,
        )
        for asset in listed
    }


def truths_of(entries: Iterable[TruthEntry], city: str) -> list[Truth]:
    """A city's faults from a ground-truth log."""
    return [
        Truth(e.fault, e.asset, e.start.timestamp(), e.end.timestamp() if e.end else None)
        for e in entries
        if e.city == city
    ]


def all_alarms(store: AlarmStore, city_id: int) -> list[Alarm]:
    """Every alarm of a city, held and closed ones too."""
    found: list[Alarm] = []
    before: int | None = None
    while True:
        page = store.query_alarms(
            city_id,
            AlarmQuery(
                states=frozenset(AlarmState), include_held=True, before_id=before, limit=1000
            ),
        )
        found += page.items
        if page.next_after is None:
            return found
        before = page.next_after
