"""Networks of cities: the ones the caller may see, and one network's member cities side by side."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from signalight.api.deps import ContainerDep, UserDep
from signalight.api.schemas import ErrorOut
from signalight.api.status_schemas import MemberCityOut, NetworkDetailOut, NetworkOut

router = APIRouter(tags=["networks"], responses={401: {"model": ErrorOut}})

NetworkSlug = Annotated[str, Path(description="The network's slug", max_length=64)]


@router.get("/networks", response_model=list[NetworkOut])
def list_networks(user: UserDep, container: ContainerDep) -> list[NetworkOut]:
    """The networks the caller has a role in (any signed-in user)."""
    return [
        NetworkOut(slug=network.slug, name=network.name, role=role)
        for network, role in container.networks.of(user)
    ]


@router.get(
    "/networks/{network}",
    response_model=NetworkDetailOut,
    responses={404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def get_network(network: NetworkSlug, user: UserDep, container: ContainerDep) -> NetworkDetailOut:
    """The network's member cities side by side (a role in the network).

    404 both for a network that does not exist and for one the caller has no
    role in, so that its existence is not given away. ``may_open`` says
    whether the caller also has a role in the city itself.
    """
    view = container.networks.view(user, network)
    return NetworkDetailOut(
        slug=view.network.slug,
        name=view.network.name,
        role=view.role,
        cities=[MemberCityOut.of(member) for member in view.cities],
    )
