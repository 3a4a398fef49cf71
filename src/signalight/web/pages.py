"""The operations console at /, its configuration, the favicon, and the security headers."""

from __future__ import annotations

import mimetypes
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
# Third-party browser files, copied from web/node_modules by `make install`
# (pinned in web/package-lock.json, ignored by git).
SWAGGER_UI = STATIC / "vendor" / "swagger-ui"

# The console loads only its own files (and, when one is configured, the base
# map's tiles from their host); it cannot be framed (clickjacking). MapLibre's
# CSP build runs its worker from our own file, so no blob: workers. Swagger UI
# at /docs needs an inline script, so it gets the other headers but not this.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:{tiles}; style-src 'self'; "
    "script-src 'self'; worker-src 'self'; connect-src 'self'{tiles}; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def page_policy(map_style_url: str) -> str:
    """The console's Content-Security-Policy, letting in the host of a configured base map."""
    parts = urlsplit(map_style_url)
    origin = f" {parts.scheme}://{parts.netloc}" if parts.scheme in {"http", "https"} else ""
    return PAGE_POLICY.format(tiles=origin)


COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def install(app: FastAPI) -> None:
    """Serve the page at / and its files under /static/web, with security headers."""
    # Some systems map .js to text/plain, which browsers refuse for modules.
    mimetypes.add_type("text/javascript", ".js")
    app.mount("/static/web", StaticFiles(directory=STATIC), name="web")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/console/config.json", include_in_schema=False)
    def console_config(request: Request) -> JSONResponse:
        """What the console needs before it signs in: the base map (not a secret)."""
        settings = request.app.state.container.settings
        return JSONResponse({"map_style_url": settings.map_style_url})

    # Browsers ask for /favicon.ico by themselves, whatever a page links.
    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(STATIC / "favicon.ico", media_type="image/vnd.microsoft.icon")

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.update(COMMON_HEADERS)
        path = request.url.path
        if path == "/" or path.startswith("/static/web/"):
            settings = request.app.state.container.settings
            response.headers["Content-Security-Policy"] = page_policy(settings.map_style_url)
        return response
