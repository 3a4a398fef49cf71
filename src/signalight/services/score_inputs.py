"""What the scorer is given: a city's assets as scoring facts, its faults, its alarms."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from signalight.domain.alarms import Alarm, AlarmQuery, AlarmState, EventKind
from signalight.domain.assets import Asset, AssetKind, AssetStatus
from signalight.services.fault_visibility import FaultSite, Truth

if TYPE_CHECKING:
    from signalight.ports import AlarmStore
    from signalight.sim.truth import TruthEntry

__all__ = ["all_alarms", "raisings", "sites_of", "truths_of"]


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


def raisings(store: AlarmStore, city_id: int, alarms: Iterable[Alarm]) -> list[Alarm]:
    """The alarms, and each time one was reopened as one more raised then.

    A condition that returns within the reopen window reopens its alarm
    instead of raising a new one (a door opened twice in an hour is one
    alarm, twice): each opening is a fault of the ground truth, and each
    reopening the alarm that answered it.
    """
    found: list[Alarm] = []
    for alarm in alarms:
        found.append(alarm)
        if alarm.occurrences > 1 and alarm.id is not None:
            found += [
                dataclasses.replace(alarm, raised_at=event.at, occurrences=1)
                for event in store.history(city_id, alarm.id)
                if event.kind is EventKind.REOPENED
            ]
    return found
