"""Request bodies read with a size cap, so a huge upload is refused, not buffered."""

from __future__ import annotations

from fastapi import HTTPException, Request

from signalight.domain.errors import InvalidInputError


async def read_limited(request: Request, limit: int) -> bytes:
    """The whole body, or 413 as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise InvalidInputError("Content-Length is not a number") from None
        if size > limit:
            raise HTTPException(413, f"the body is {size} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise HTTPException(413, f"the body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    if not received:
        raise InvalidInputError("the request body is empty; send the file as the body")
    return b"".join(chunks)
