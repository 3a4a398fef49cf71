"""The asset inventory: query (JSON or GeoJSON for map layers), edit, import and export."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from signalight.api.deps import CITY_ERRORS, AdminCity, ContainerDep, ReadableCity, UserDep
from signalight.api.pagination import MAX_LIMIT, decode_cursor, encode_cursor
from signalight.api.params import AssetId, BBoxQuery, bbox_of, query_id
from signalight.api.schemas import (
    AssetIn,
    AssetOut,
    AssetPage,
    AssetPatch,
    ErrorOut,
    ImportOut,
    ImportRunOut,
    record_values,
)
from signalight.api.uploads import read_limited
from signalight.codecs.inventory_fields import record_to_properties
from signalight.domain.assets import (
    Asset,
    AssetKind,
    AssetQuery,
    AssetRecord,
    AssetStatus,
)
from signalight.services.inventory import (
    InventoryFormat,
)

router = APIRouter(tags=["assets"], responses=CITY_ERRORS)

GEOJSON = "application/geo+json"


@router.get(
    "/cities/{city}/assets",
    response_model=AssetPage,
    responses={200: {"content": {GEOJSON: {}}}, 422: {"model": ErrorOut}},
)
def list_assets(
    request: Request,
    city: ReadableCity,
    container: ContainerDep,
    kind: AssetKind | None = None,
    status: AssetStatus | None = None,
    cabinet: Annotated[int | None, query_id("id of the feeding cabinet")] = None,
    code: Annotated[str | None, Query(max_length=64)] = None,
    bbox: BBoxQuery = None,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    format: Annotated[str | None, Query(pattern="^(json|geojson)$")] = None,  # noqa: A002
) -> Response:
    """The city's assets matching the filters, a page at a time, by ascending id.

    Ask for GeoJSON with ``format=geojson`` or ``Accept: application/geo+json``
    to feed a map layer; the next page's cursor is then a foreign member.
    """
    query = AssetQuery(
        kind=kind,
        status=status,
        cabinet_id=cabinet,
        code=code,
        bbox=bbox_of(bbox),
        after_id=decode_cursor(cursor),
        limit=limit,
    )
    page = container.inventory.assets(city, query)
    next_cursor = encode_cursor(page.next_after)
    headers = {"Link": f'<?cursor={next_cursor}>; rel="next"'} if next_cursor else None
    if format == "geojson" or (format is None and GEOJSON in request.headers.get("accept", "")):
        body = {
            "type": "FeatureCollection",
            "features": [_feature(a) for a in page.items],
            "next_cursor": next_cursor,
        }
        return Response(orjson.dumps(body), media_type=GEOJSON, headers=headers)
    out = AssetPage(items=[AssetOut.model_validate(a) for a in page.items], next_cursor=next_cursor)
    return Response(out.model_dump_json(), media_type="application/json", headers=headers)


@router.get(
    "/cities/{city}/assets/{asset_id}",
    response_model=AssetOut,
    responses={404: {"model": ErrorOut}},
)
def get_asset(city: ReadableCity, container: ContainerDep, asset_id: AssetId) -> AssetOut:
    """One asset of the city."""
    return AssetOut.model_validate(container.inventory.asset(city, asset_id))


@router.post(
    "/cities/{city}/assets",
    response_model=AssetOut,
    status_code=201,
    responses={409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def create_asset(city: AdminCity, body: AssetIn, container: ContainerDep) -> AssetOut:
    """Add one asset (admin), under the same rules as an import."""
    record = AssetRecord(**record_values(body.model_dump()))
    return AssetOut.model_validate(container.inventory.create(city, record))


@router.patch(
    "/cities/{city}/assets/{asset_id}",
    response_model=AssetOut,
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def update_asset(
    city: AdminCity, asset_id: AssetId, body: AssetPatch, container: ContainerDep
) -> AssetOut:
    """Change fields of one asset (admin): those left out stay; null clears an optional one."""
    changes = record_values(body.model_dump(exclude_unset=True))
    return AssetOut.model_validate(container.inventory.change(city, asset_id, changes))


@router.delete(
    "/cities/{city}/assets/{asset_id}",
    status_code=204,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
def delete_asset(city: AdminCity, asset_id: AssetId, container: ContainerDep) -> Response:
    """Remove one asset (admin): deleted, or retired if it has a history.

    An asset with a device bound or with alarms (or a cabinet that fed
    lights) is retired, not deleted: its status becomes ``removed``, its
    device is unbound (kept with its readings) and its open alarms are closed
    by ``inventory``; it stays listed, with its history. A cabinet that still
    feeds lights in the street cannot be removed (409): move them first.
    """
    container.inventory.remove(city, asset_id)
    return Response(status_code=204)


@router.post(
    "/cities/{city}/imports",
    response_model=ImportOut,
    responses={
        413: {"model": ErrorOut},
        422: {
            "model": ImportOut | ErrorOut,
            "description": "The file was refused: an ImportOut listing every error. "
            "A request that is itself invalid (an empty body, an unknown format) "
            "gets the usual ErrorOut.",
        },
    },
)
async def import_assets(
    request: Request,
    city: AdminCity,
    user: UserDep,
    container: ContainerDep,
    format: Annotated[InventoryFormat, Query()] = InventoryFormat.CSV,  # noqa: A002
    source: Annotated[str, Query(max_length=200)] = "upload",
    dry_run: bool = False,
) -> Response:
    """Import an inventory file sent as the request body (admin): all rows or none.

    Send CSV as ``text/csv`` or GeoJSON as ``application/geo+json`` (set
    ``format``). Every bad row is listed as ``line N: reason``; with any
    error nothing is written and the answer is 422.
    """
    data = await read_limited(request, container.settings.max_upload_bytes)
    # Checking and writing a large file takes seconds: keep it off the event loop.
    report = await run_in_threadpool(
        container.inventory.import_file,
        city,
        data,
        format,
        actor=user.username,
        source=source,
        dry_run=dry_run,
    )
    result = report.result
    out = ImportOut(
        accepted=report.run.accepted,
        dry_run=dry_run,
        rows=report.run.rows,
        inserted=result.inserted if result else 0,
        updated=result.updated if result else 0,
        devices=result.devices if result else 0,
        errors=report.errors,
        run_id=report.run.id,
    )
    return Response(
        out.model_dump_json(),
        media_type="application/json",
        status_code=200 if report.run.accepted else 422,
    )


@router.get("/cities/{city}/imports", response_model=list[ImportRunOut])
def list_imports(
    city: ReadableCity,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ImportRunOut]:
    """The latest import attempts, refused ones with their first errors."""
    return [ImportRunOut.model_validate(r) for r in container.inventory.imports(city, limit)]


@router.get(
    "/cities/{city}/export",
    responses={200: {"content": {"text/csv": {}, GEOJSON: {}}}},
)
def export_assets(
    city: ReadableCity,
    container: ContainerDep,
    format: InventoryFormat = InventoryFormat.CSV,  # noqa: A002
) -> StreamingResponse:
    """The whole inventory as a CSV or GeoJSON file that imports back unchanged."""
    media = "text/csv; charset=utf-8" if format is InventoryFormat.CSV else GEOJSON
    filename = f"{city.slug}-assets.{format.value}"
    return StreamingResponse(
        container.inventory.export(city, format),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _feature(asset: Asset) -> dict[str, object]:
    properties = record_to_properties(asset)
    properties["id"] = asset.id
    return {
        "type": "Feature",
        "id": asset.id,
        "geometry": {"type": "Point", "coordinates": [asset.lon, asset.lat]},
        "properties": properties,
    }
