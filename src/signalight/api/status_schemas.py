"""The bodies of a city at a glance (map snapshot, home figures) and of networks of cities."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from signalight.domain.alarms import AlarmType
from signalight.domain.networks import NetworkRole
from signalight.services.city_status import CityFigures
from signalight.services.networks import MemberCity

MapCell = int | float | str | list[str] | None


class MapOut(BaseModel):
    """Every asset asked for with its live status, one compact row each."""

    fields: list[str] = Field(
        description="The columns of each row: id, kind, code, lon, lat, status, severity,"
        " alarm_types, cabinet, street_class"
    )
    rows: list[list[MapCell]] = Field(
        description="status: working, alarm, off_by_schedule, silent, unknown, or the asset's"
        " own status (planned, out_of_service, removed); severity: the worst open alarm's or"
        " null; alarm_types: the open alarms' types; cabinet: the powering cabinet's code"
    )
    as_of: datetime


class KpisOut(BaseModel):
    """A city's headline figures."""

    lights: int = Field(description="Streetlights in service")
    working: int = Field(description="Of them, heard and without an open alarm (dark by day too)")
    working_share: float = Field(ge=0, le=1, description="working / lights; 0 without lights")
    open_faults_by_type: dict[AlarmType, int] = Field(
        description="Raised and acknowledged alarms by type, not those held under an outage"
    )
    open_alarms: int
    mttr_hours: float | None = Field(
        description="Mean hours from raise to clear of the alarms cleared in the last 30 days"
    )
    work_orders_open: int
    work_orders_past_due: int
    as_of: datetime

    @classmethod
    def of(cls, figures: CityFigures) -> KpisOut:
        """The body of a city's figures."""
        return cls(
            lights=figures.lights,
            working=figures.working,
            working_share=figures.working_share,
            open_faults_by_type=figures.open_faults_by_type,
            open_alarms=figures.open_alarms,
            mttr_hours=figures.mttr_hours,
            work_orders_open=figures.work_orders_open,
            work_orders_past_due=figures.work_orders_past_due,
            as_of=figures.as_of,
        )


class NetworkOut(BaseModel):
    """A network the caller has a role in."""

    slug: str
    name: str
    role: NetworkRole


class MemberCityOut(BaseModel):
    """One member city's headline figures."""

    city: str = Field(description="The city's slug")
    name: str
    lights: int
    working_share: float = Field(ge=0, le=1)
    mttr_hours: float | None
    open_faults: int = Field(description="Raised and acknowledged alarms, not held ones")
    may_open: bool = Field(description="Whether the caller also has a role in the city itself")

    @classmethod
    def of(cls, member: MemberCity) -> MemberCityOut:
        """The body of one member city."""
        figures = member.figures
        return cls(
            city=member.city.slug,
            name=member.city.name,
            lights=figures.lights,
            working_share=figures.working_share,
            mttr_hours=figures.mttr_hours,
            open_faults=figures.open_alarms,
            may_open=member.may_open,
        )


class NetworkDetailOut(NetworkOut):
    """A network's member cities side by side."""

    cities: list[MemberCityOut]
