"""The inventory map page at /, the favicon, and the security headers every response carries."""

from __future__ import annotations

import mimetypes
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
# Third-party browser files, copied from web/node_modules by `make install`
# (pinned in web/package-lock.json, ignored by git).
SWAGGER_UI = STATIC / "vendor" / "swagger-ui"

# The page loads only its own files; nothing from any other host, and it
# cannot be framed (clickjacking). Swagger UI at /docs needs an inline script,
# so it gets the other headers but not this policy.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
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
            response.headers["Content-Security-Policy"] = PAGE_POLICY
        return response
