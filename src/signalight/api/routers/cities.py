"""Cities (tenants): each caller sees only the cities they hold a role in."""

from __future__ import annotations

from fastapi import APIRouter

from signalight.api.deps import CITY_ERRORS, AdminCity, ContainerDep, ReadableCity, UserDep
from signalight.api.schemas import CityOut, CityPatch, ErrorOut

router = APIRouter(tags=["cities"])


@router.get("/cities", response_model=list[CityOut], responses={401: {"model": ErrorOut}})
def list_cities(user: UserDep, container: ContainerDep) -> list[CityOut]:
    """The cities the caller holds a role in."""
    return [CityOut.model_validate(c) for c in container.cities.all(list(user.roles))]


@router.get("/cities/{city}", response_model=CityOut, responses=CITY_ERRORS)
def get_city(city: ReadableCity, container: ContainerDep) -> CityOut:
    """One city, with how many assets of each kind it has."""
    return CityOut.model_validate(city).model_copy(
        update={"assets": container.inventory.counts(city)}
    )


@router.patch("/cities/{city}", response_model=CityOut, responses=CITY_ERRORS)
def update_city(city: AdminCity, body: CityPatch, container: ContainerDep) -> CityOut:
    """Change a city's settings (admin): tariff, CO2 factor, centre, time zone."""
    changed = city.with_changes(**body.model_dump(exclude_unset=True))
    return CityOut.model_validate(container.cities.update(changed))
