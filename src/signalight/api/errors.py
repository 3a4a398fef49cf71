"""Every error the API returns is JSON with a stable code and a plain message."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from signalight.domain.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    SignalightError,
    StorageError,
)

log = logging.getLogger(__name__)

STATUS = {
    AuthenticationError: (401, "unauthenticated"),
    PermissionDeniedError: (403, "forbidden"),
    NotFoundError: (404, "not_found"),
    ConflictError: (409, "conflict"),
    InvalidInputError: (422, "invalid"),
    StorageError: (503, "storage_unavailable"),
}


def error_body(code: str, message: str, details: list[str] | None = None) -> dict[str, object]:
    """The one shape of every error response."""
    body: dict[str, object] = {"error": code, "message": message}
    if details:
        body["details"] = details
    return body


def install(app: FastAPI) -> None:
    """Register the handlers that turn exceptions into JSON errors."""

    @app.exception_handler(SignalightError)
    async def _ours(_request: Request, exc: SignalightError) -> JSONResponse:
        status, code = next((v for k, v in STATUS.items() if isinstance(exc, k)), (500, "internal"))
        if status >= 500:  # noqa: PLR2004
            log.error("request failed: %s", exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None  # noqa: PLR2004
        return JSONResponse(error_body(code, str(exc)), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
        # The message names the first problem, so a client that shows only it still says what.
        message = "the request is not valid"
        if details:
            message = f"{message}: {details[0]}"
        return JSONResponse(error_body("invalid", message, details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # noqa: PLR2004
            # FastAPI's only 400: a body it cannot decode (not UTF-8). Every
            # other unreadable request is a 422, so this one is too.
            message = "the request body cannot be read as JSON (UTF-8)"
            return JSONResponse(error_body("invalid", message), status_code=422)
        headers = exc.headers
        if exc.status_code == 405:  # noqa: PLR2004
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status_code, "http_error"
        )
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error", exc_info=exc)
        return JSONResponse(
            error_body("internal", "an unexpected error occurred; it has been logged"),
            status_code=500,
        )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path, for a 405's ``Allow`` header.

    Starlette's own header names only the methods of the first route whose
    path matched, while a path such as ``/cities/{city}`` has one route per method.
    """
    methods: set[str] = set()
    for route in _flat_routes(request.app.router.routes):
        if route.matches(request.scope)[0] is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


def _flat_routes(routes: Sequence[BaseRoute]) -> Iterable[Any]:
    # FastAPI 0.16x keeps each included router as one nested route and lists
    # its routes through iter_route_contexts; before, app.router.routes was flat.
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover (older FastAPI)
        return routes
    return iter_route_contexts(routes)
