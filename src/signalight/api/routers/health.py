"""Liveness: no authentication, so that load balancers and monitors can ask."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from signalight import __version__
from signalight.api.deps import ContainerDep
from signalight.api.schemas import Health
from signalight.domain.errors import StorageError

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(container: ContainerDep) -> JSONResponse:
    """Whether the service and its database answer."""
    try:
        container.db.ping()
    except StorageError:
        body = Health(status="degraded", database="unreachable", version=__version__)
        return JSONResponse(body.model_dump(), status_code=503)
    return JSONResponse(Health(status="ok", database="ok", version=__version__).model_dump())
