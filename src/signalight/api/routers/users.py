"""Accounts: a city's users and their tokens (admins), the caller's own tokens, the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from signalight.api.account_schemas import AuditOut, CityUserOut, TokenInfoOut
from signalight.api.deps import AdminCity, ContainerDep, UserDep
from signalight.api.schemas import ErrorOut
from signalight.domain.users import User, may_manage
from signalight.services.accounts import AUDIT_LIMIT

# What any route here may answer before its handler runs.
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 422)
}
router = APIRouter(tags=["accounts"], responses=_ERRORS)

Username = Annotated[str, Path(description="The user's name", max_length=64)]
TokenId = Annotated[int, Path(description="From the list of the user's tokens", ge=1)]
_USER = "/cities/{city}/users/{username}"


def managed_user(
    city: AdminCity, caller: UserDep, container: ContainerDep, username: Username
) -> User:
    """The account named in the path, if the caller, an admin of the city, may manage it.

    Decided here once, so that no handler acts on an account without the
    check: the account must hold a role in the city, and the caller must be
    an admin of every city it holds a role in (404, 403 otherwise).
    """
    return container.accounts.managed(caller, city, username)


ManagedUser = Annotated[User, Depends(managed_user)]


@router.get("/me/tokens", response_model=list[TokenInfoOut])
def my_tokens(caller: UserDep, container: ContainerDep) -> list[TokenInfoOut]:
    """The caller's own API tokens, newest first, without the tokens themselves."""
    now = container.clock.now()
    return [TokenInfoOut.of(t, now) for t in container.accounts.tokens(caller.username)]


@router.delete("/me/tokens/{token_id}", status_code=204)
def revoke_my_token(caller: UserDep, container: ContainerDep, token_id: TokenId) -> Response:
    """Revoke one of the caller's own tokens (the one in use too); refused from the next request."""
    container.accounts.revoke(caller.username, token_id, caller.username)
    return Response(status_code=204)


@router.get("/cities/{city}/users", response_model=list[CityUserOut])
def city_users(city: AdminCity, caller: UserDep, container: ContainerDep) -> list[CityUserOut]:
    """The users holding a role in the city (admin), and whether the caller may manage each."""
    return [
        CityUserOut.of(user, city.pk, manageable=may_manage(caller, user, city.pk))
        for user in container.accounts.users(city.pk)
    ]


@router.get(f"{_USER}/tokens", response_model=list[TokenInfoOut])
def user_tokens(user: ManagedUser, container: ContainerDep) -> list[TokenInfoOut]:
    """A user's API tokens (admin), newest first, without the tokens themselves."""
    now = container.clock.now()
    return [TokenInfoOut.of(t, now) for t in container.accounts.tokens(user.username)]


@router.delete(f"{_USER}/tokens/{{token_id}}", status_code=204)
def revoke_user_token(
    user: ManagedUser, caller: UserDep, container: ContainerDep, token_id: TokenId
) -> Response:
    """Revoke one of a user's tokens (admin); it is refused from the next request on."""
    container.accounts.revoke(user.username, token_id, caller.username)
    return Response(status_code=204)


@router.post(f"{_USER}/disable", response_model=CityUserOut)
def disable_user(
    city: AdminCity, user: ManagedUser, caller: UserDep, container: ContainerDep
) -> CityUserOut:
    """Disable a user (admin): every token and the password stop at once. Not yourself."""
    changed = container.accounts.set_disabled(user.username, caller.username, disabled=True)
    return CityUserOut.of(changed, city.pk, manageable=True)


@router.post(f"{_USER}/enable", response_model=CityUserOut)
def enable_user(
    city: AdminCity, user: ManagedUser, caller: UserDep, container: ContainerDep
) -> CityUserOut:
    """Enable a disabled user again (admin): their unrevoked, unexpired tokens work again."""
    changed = container.accounts.set_disabled(user.username, caller.username, disabled=False)
    return CityUserOut.of(changed, city.pk, manageable=True)


@router.delete(_USER, status_code=204)
def remove_user(user: ManagedUser, caller: UserDep, container: ContainerDep) -> Response:
    """Delete a user with their roles and tokens (admin). Not yourself."""
    container.accounts.remove(user.username, caller.username)
    return Response(status_code=204)


@router.get("/cities/{city}/audit", response_model=list[AuditOut])
def city_audit(
    city: AdminCity,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=AUDIT_LIMIT)] = 100,
    before: Annotated[int | None, Query(ge=1, description="An entry id: older entries")] = None,
) -> list[AuditOut]:
    """What was done to the city's accounts, and by whom (admin), newest first."""
    return [AuditOut.of(e) for e in container.accounts.audit(city.pk, limit, before)]
