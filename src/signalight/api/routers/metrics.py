"""Prometheus metrics of this process, at /metrics, for the scraper on the private network."""

from __future__ import annotations

from fastapi import APIRouter, Response

from signalight.adapters.metrics import CONTENT_TYPE
from signalight.api.deps import ContainerDep

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
def metrics(container: ContainerDep) -> Response:
    """The ingest counters and histograms in the Prometheus text format, without a token.

    Prometheus scrapes without credentials, so this route asks for none: it
    shows counts, never a device, city or payload. Do not route it from the
    public internet (see docs/api.md).
    """
    return Response(container.metrics.render(), media_type=CONTENT_TYPE)
