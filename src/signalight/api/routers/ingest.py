"""HTTP ingest: an NB-IoT or LTE device posts a SenML pack, signed in with its own credentials.

The device's username and secret are those of its MQTT account, sent with
HTTP Basic. A pack goes the same way as one from the broker: checked by the
ingest service, stored with its readings or filed as a dead letter, and only
then answered, so a 200 means the readings are stored.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import time
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from starlette.concurrency import run_in_threadpool

from signalight.adapters import mosquitto
from signalight.api.deps import ContainerDep
from signalight.api.errors import error_body
from signalight.api.schemas import ErrorOut
from signalight.api.telemetry_schemas import IngestOut, IngestRefusedOut
from signalight.domain.errors import SignalightError, StorageUnavailableError
from signalight.domain.readings import RejectReason
from signalight.domain.telemetry import DEAD_PAYLOAD_MAX, Accepted, DeadLetter
from signalight.services.batcher import refused_letter
from signalight.services.credentials import new_secret
from signalight.services.ingest import IngestService
from signalight.services.telemetry import DeviceAuthenticator

router = APIRouter(tags=["ingest"])

# Where a dead letter from this route says it came from.
TOPIC: Final = "http:/api/v1/ingest"
TRANSPORT: Final = "http"
CHALLENGE: Final = 'Basic realm="signalight-ingest", charset="UTF-8"'
MEDIA_TYPES: Final = frozenset({"application/senml+json", "application/json"})
_WRONG: Final = "the device's username or secret is wrong"


class _DeviceBasic(HTTPBasic):
    """HTTP Basic that leaves every refusal to the route, so that all say the same."""

    async def __call__(self, request: Request) -> HTTPBasicCredentials | None:  # type: ignore[override]
        parsed = _basic(request.headers.get("authorization"))
        if parsed is None:
            return None
        return HTTPBasicCredentials(username=parsed[0], password=parsed[1])


device_basic = _DeviceBasic(
    scheme_name="deviceBasic",
    realm="signalight-ingest",
    description="The device's MQTT username `{city}/{device}` and its secret",
    auto_error=False,
)


def _authenticator(request: Request, container: ContainerDep) -> DeviceAuthenticator:
    # One per application, made on first use: it keeps the cities' hashes it has read.
    state = request.app.state
    found = getattr(state, "device_authenticator", None)
    if isinstance(found, DeviceAuthenticator):
        return found
    made = DeviceAuthenticator(
        container.ingest.directory.get,
        container.db.credentials,
        mosquitto.verify_device_secret,
        decoy_hash=mosquitto.hash_password(new_secret()),
    )
    state.device_authenticator = made
    return made


Authenticator = Annotated[DeviceAuthenticator, Depends(_authenticator)]


@router.post(
    "/ingest",
    response_model=IngestOut,
    responses={
        401: {"model": ErrorOut},
        413: {"model": IngestRefusedOut},
        415: {"model": ErrorOut},
        422: {"model": IngestRefusedOut},
        503: {"model": ErrorOut},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/senml+json": {"schema": {"type": "array"}}},
        },
    },
)
async def ingest(
    request: Request,
    container: ContainerDep,
    authenticator: Authenticator,
    credentials: Annotated[HTTPBasicCredentials | None, Depends(device_basic)],
) -> Response:
    """Store a SenML JSON pack that a device posts with HTTP Basic ``{city}/{device}:{secret}``.

    200 once its readings are stored (a resent pack stores none again);
    422 with the reason code if it is refused (by the checks, or by the
    database: ``not_stored``), 413 if it is longer than the ingest limit:
    all are kept in the city's dead letters, so do not resend them. 401 for
    wrong credentials, 503 while the database is away: resend.
    """
    received_at = time.time()
    if credentials is None:
        return _unauthenticated("send the device's username and secret with HTTP Basic")
    device = await run_in_threadpool(
        authenticator.authenticate, credentials.username, credentials.password
    )
    if device is None:
        return _unauthenticated(_WRONG)
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type and media_type not in MEDIA_TYPES:
        message = f"send the pack as application/senml+json, not {media_type[:60]}"
        return JSONResponse(error_body("unsupported_media_type", message), status_code=415)
    service = container.ingest
    service.observer.received(TRANSPORT, 1)
    limit = service.limits.max_bytes
    payload, size = await _read_capped(request, limit)
    if size > limit:
        letter = DeadLetter.of(
            received_at=received_at,
            topic=TOPIC,
            reason=RejectReason.TOO_LARGE,
            message=f"the pack is {size} bytes or more; the limit is {limit}",
            payload=payload,
            city_id=device.city_id,
            device_uid=device.uid,
        )
        letter = dataclasses.replace(letter, size=size)
        await run_in_threadpool(service.write, [], [letter])
        return _refused(letter, "too_large", 413)
    outcome = await run_in_threadpool(service.check_from, device, payload, received_at, TOPIC)
    if isinstance(outcome, DeadLetter):
        await run_in_threadpool(service.write, [], [outcome])
        return _refused(outcome, "invalid", 422)
    return await _store(service, outcome)


async def _store(service: IngestService, outcome: Accepted) -> Response:
    """Store an accepted pack; one the database refuses is kept as a dead letter (422)."""
    try:
        stored = await run_in_threadpool(service.write, [outcome], [])
    except StorageUnavailableError:
        raise
    except SignalightError as exc:  # refused for what it holds: kept, not to be resent
        letter = refused_letter(outcome, exc)
        await run_in_threadpool(service.write, [], [letter])
        return _refused(letter, "not_stored", 422)
    body = IngestOut(readings=len(outcome.readings), stored=stored)
    return Response(body.model_dump_json(), media_type="application/json")


def _basic(header: str | None) -> tuple[str, str] | None:
    """The username and secret of an HTTP Basic header, or None if it is not one."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        text = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, secret = text.partition(":")
    return (username, secret) if colon else None


async def _read_capped(request: Request, limit: int) -> tuple[bytes, int]:
    """The body and its size; past ``limit`` bytes only its start, and reading stops.

    A declared length past the limit is refused without reading anything.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return b"", int(declared)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        received += len(chunk)
        if received > limit:
            return b"".join(chunks)[:DEAD_PAYLOAD_MAX], received
    return b"".join(chunks), received


def _unauthenticated(message: str) -> JSONResponse:
    return JSONResponse(
        error_body("unauthenticated", message),
        status_code=401,
        headers={"WWW-Authenticate": CHALLENGE},
    )


def _refused(letter: DeadLetter, error: str, status: int) -> JSONResponse:
    body = IngestRefusedOut(error=error, reason=letter.reason, message=letter.message)
    return JSONResponse(body.model_dump(mode="json"), status_code=status)
