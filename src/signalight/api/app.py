"""The ASGI application: the API under /api/v1, offline API docs, and the web pages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles

from signalight import __version__
from signalight.api import errors
from signalight.api.routers import (
    alarms,
    assets,
    auth,
    cities,
    commands,
    devices,
    energy,
    health,
    incidents,
    ingest,
    intersections,
    maintenance_windows,
    metrics,
    networks,
    notifications,
    schedules,
    signal_reports,
    status,
    telemetry,
    users,
    work_orders,
)
from signalight.container import Container
from signalight.web import pages

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


def create_app(container: Container) -> FastAPI:
    """The application over an already built container.

    Its lifespan runs the retention job: the server stores what devices post
    over HTTP, so it deletes what is past retention as ingest does.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        container.retention.start()
        try:
            yield
        finally:
            container.retention.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Signalight",
        version=__version__,
        summary="Streetlights and traffic signals of many cities, watched and run.",
        docs_url=None,  # served below from packaged files: no CDN at run time
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.container = container
    errors.install(app)
    # The map snapshot of a large city is megabytes of JSON that compresses ~7:1;
    # level 5 compresses it nearly as well as 9 in a fraction of the time.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=5)
    for module in (
        health,
        auth,
        users,
        cities,
        assets,
        devices,
        telemetry,
        energy,
        ingest,
        alarms,
        notifications,
        status,
        networks,
        work_orders,
        incidents,
        maintenance_windows,
        intersections,
        signal_reports,
        schedules,
        commands,
    ):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(metrics.router)  # where Prometheus looks, outside the API

    # Swagger UI 5 (it reads OpenAPI 3.1), copied into the package from npm by
    # `make install`; a checkout that skipped that step still serves the API.
    built = (pages.SWAGGER_UI / "swagger-ui-bundle.js").is_file()
    if not built:
        log.warning("Swagger UI is not in %s: run `make install`", pages.SWAGGER_UI)
    app.mount(
        "/static/swagger",
        StaticFiles(directory=pages.SWAGGER_UI, check_dir=False),
        name="swagger",
    )

    @app.get("/docs", include_in_schema=False, response_model=None)
    def docs() -> HTMLResponse | PlainTextResponse:
        if not built:
            return PlainTextResponse(
                "The API docs page is not built in this install: run `make install`"
                f" (it fetches Swagger UI with npm). The spec is at {app.openapi_url}.",
                status_code=503,
            )
        return get_swagger_ui_html(
            openapi_url=f"{API_PREFIX}/openapi.json",
            title="Signalight API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/favicon.ico",
        )

    pages.install(app)
    return app
