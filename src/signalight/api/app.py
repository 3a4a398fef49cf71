"""The ASGI application: the API under /api/v1, offline API docs, and the web pages."""

from __future__ import annotations

import logging
from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from signalight import __version__
from signalight.api import errors
from signalight.api.routers import (
    alarms,
    assets,
    auth,
    cities,
    devices,
    health,
    ingest,
    metrics,
    notifications,
    telemetry,
)
from signalight.container import Container
from signalight.web import pages

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


def create_app(container: Container) -> FastAPI:
    """The application over an already built container."""
    app = FastAPI(
        title="Signalight",
        version=__version__,
        summary="Streetlights and traffic signals of many cities, watched and run.",
        docs_url=None,  # served below from packaged files: no CDN at run time
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.container = container
    errors.install(app)
    for module in (health, auth, cities, assets, devices, telemetry, ingest, alarms, notifications):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(metrics.router)  # where Prometheus looks, outside the API

    app.mount(
        "/static/swagger",
        StaticFiles(directory=Path(swagger_ui_bundle.swagger_ui_path)),
        name="swagger",
    )

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{API_PREFIX}/openapi.json",
            title="Signalight API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )

    pages.install(app)
    return app
