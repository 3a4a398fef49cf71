"""Commands to a city's devices: ask for them in batches, follow their progress and answers.

Roles (checked by :class:`CommandService`, the city by ``api/deps.py``): an
operator or admin commands anything; a crew member may switch one
streetlight on or off; a viewer reads. A command is done only when its own
device answers (``docs/protocol.md``, Commands).
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Path, Query

from signalight.api.command_schemas import BatchOut, CommandIn, CommandOut, CommandPage, StrayOut
from signalight.api.deps import CITY_ERRORS, ContainerDep, ReadableCity, UserDep
from signalight.api.params import IsoTime, path_id, query_id
from signalight.domain.command_batches import CommandQuery
from signalight.domain.commands import CommandKind, CommandState

router = APIRouter(tags=["commands"], responses=CITY_ERRORS)

BASE: Final = "/cities/{city}/commands"
MAX_PAGE: Final = 1000
BatchId = Annotated[int, path_id("The batch's id")]
CommandId = Annotated[str, Path(description="The command's id (a UUID)", max_length=64)]


@router.post(BASE, response_model=BatchOut, status_code=201)
def request_commands(
    city: ReadableCity, user: UserDep, container: ContainerDep, body: CommandIn
) -> BatchOut:
    """Ask for a command to every device of the target: one batch, a command per device.

    Operator and up; a crew member may only switch one streetlight. 422 for
    bad arguments or expiry, an asset the city lacks, or no device there.
    The commands go out with the next round of `signalight command serve`.
    """
    service = container.commands
    batch = service.request(
        city,
        user,
        body.kind,
        body.args,
        body.target.target(),
        expires_at=body.expires_at,
        why=body.why,
    )
    return BatchOut.of(batch, service.store.progress(batch.id))


@router.get(BASE, response_model=CommandPage)
def list_commands(
    city: ReadableCity,
    user: UserDep,
    container: ContainerDep,
    state: CommandState | None = None,
    device: Annotated[str | None, Query(max_length=64, description="To this device")] = None,
    batch: Annotated[int | None, query_id("Of this batch")] = None,
    kind: CommandKind | None = None,
    before: Annotated[IsoTime | None, Query(description="`next_before` of the last page")] = None,
    after: Annotated[
        str | None, Query(max_length=64, description="`next_after` of the last page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> CommandPage:
    """The city's commands, newest first (viewer and up)."""
    query = CommandQuery(
        state=state,
        device_uid=device,
        batch_id=batch,
        kind=kind,
        before=before,
        after_id=after,
        limit=limit + 1,
    )
    found = container.commands.query(city, user, query)
    items = [CommandOut.of(c) for c in found[:limit]]
    more = len(found) > limit
    last = items[-1] if more and items else None
    return CommandPage(
        items=items,
        next_before=None if last is None else last.created_at,
        next_after=None if last is None else last.id,
    )


@router.get(f"{BASE}/{{command_id}}", response_model=CommandOut)
def get_command(
    city: ReadableCity, user: UserDep, container: ContainerDep, command_id: CommandId
) -> CommandOut:
    """One command, with the stray answers that named it (viewer and up)."""
    command, strays = container.commands.command(city, user, command_id)
    return CommandOut.of(command, strays)


@router.get("/cities/{city}/command-batches/{batch_id}", response_model=BatchOut)
def get_batch(
    city: ReadableCity, user: UserDep, container: ContainerDep, batch_id: BatchId
) -> BatchOut:
    """One batch with its progress: its commands counted by state (viewer and up)."""
    batch, progress = container.commands.batch(city, user, batch_id)
    return BatchOut.of(batch, progress)


@router.get("/cities/{city}/command-strays", response_model=list[StrayOut])
def list_strays(
    city: ReadableCity,
    user: UserDep,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> list[StrayOut]:
    """Answers that changed no command, newest first: unknown ids, other devices', repeats, late."""
    return [StrayOut.of(s) for s in container.commands.strays(city, user, limit)]
