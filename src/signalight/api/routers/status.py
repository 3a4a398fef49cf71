"""A city at a glance: every asset's live status for the map, and the home figures."""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict
from typing import Annotated, Final

import orjson
from fastapi import APIRouter, Query, Request, Response

from signalight.api.deps import CITY_ERRORS, ContainerDep, ReadableCity
from signalight.api.params import BBoxQuery, bbox_of
from signalight.api.status_schemas import KpisOut, MapOut
from signalight.domain.assets import AssetKind
from signalight.services.city_status import MapSnapshot

router = APIRouter(tags=["status"], responses=CITY_ERRORS)

# The bodies of the snapshots the service keeps, encoded once: as JSON and
# gzipped (level 5, as the middleware does), for every screen that asks.
ENCODED_KEPT: Final = 16
_encoded: OrderedDict[int, tuple[MapSnapshot, bytes, bytes]] = OrderedDict()
_encoded_lock = threading.Lock()


def _bodies(snapshot: MapSnapshot) -> tuple[bytes, bytes]:
    """The snapshot's JSON body and its gzip, made once per snapshot."""
    with _encoded_lock:
        kept = _encoded.get(id(snapshot))
        if kept is not None and kept[0] is snapshot:
            return kept[1], kept[2]
    body = {"fields": snapshot.fields, "rows": snapshot.rows, "as_of": snapshot.as_of}
    # orjson, not validated row by row: 100,000 rows through pydantic take seconds.
    plain = orjson.dumps(body)
    packed = gzip.compress(plain, compresslevel=5)
    with _encoded_lock:
        _encoded[id(snapshot)] = (snapshot, plain, packed)
        while len(_encoded) > ENCODED_KEPT:
            _encoded.popitem(last=False)
    return plain, packed


@router.get(
    "/cities/{city}/map",
    response_model=MapOut,
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
def city_map(
    request: Request,
    city: ReadableCity,
    container: ContainerDep,
    bbox: BBoxQuery = None,
    kind: Annotated[AssetKind | None, Query(description="Only assets of this kind")] = None,
) -> Response:
    """Every asset of the city (in the bbox, of the kind, if given) with its live status (viewer).

    One compact row per asset, in ``fields`` order, so that a hundred thousand
    lights fit one response (gzip-compressed when the client accepts it).
    """
    snapshot = container.status.snapshot(city, bbox_of(bbox), kind)
    plain, packed = _bodies(snapshot)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
        return Response(packed, media_type="application/json", headers=headers)
    return Response(plain, media_type="application/json", headers={"Vary": "Accept-Encoding"})


@router.get("/cities/{city}/kpis", response_model=KpisOut)
def city_kpis(city: ReadableCity, container: ContainerDep) -> KpisOut:
    """The city's headline figures: lights working, open faults, repair time, orders (viewer)."""
    return KpisOut.of(container.status.figures(city))
