"""A city at a glance: every asset's live status for the map, and the home figures."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response

from signalight.api.deps import CITY_ERRORS, ContainerDep, ReadableCity
from signalight.api.params import BBoxQuery, bbox_of
from signalight.api.status_schemas import KpisOut, MapOut
from signalight.domain.assets import AssetKind

router = APIRouter(tags=["status"], responses=CITY_ERRORS)


@router.get(
    "/cities/{city}/map",
    response_model=MapOut,
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
def city_map(
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
    body = {"fields": snapshot.fields, "rows": snapshot.rows, "as_of": snapshot.as_of}
    # Built with orjson, not validated row by row: 100,000 rows through pydantic take seconds.
    return Response(orjson.dumps(body), media_type="application/json")


@router.get("/cities/{city}/kpis", response_model=KpisOut)
def city_kpis(city: ReadableCity, container: ContainerDep) -> KpisOut:
    """The city's headline figures: lights working, open faults, repair time, orders (viewer)."""
    return KpisOut.of(container.status.figures(city))
