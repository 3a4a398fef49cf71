"""The API's request and response bodies (Pydantic), separate from the domain values."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from signalight.domain.assets import (
    AssetKind,
    AssetStatus,
    DeviceKind,
    LuminaireType,
    StreetClass,
)
from signalight.domain.users import Role

Text = Annotated[str, Field(max_length=200)]


class ErrorOut(BaseModel):
    """Every error response."""

    error: str = Field(description="A stable machine-readable code, e.g. not_found")
    message: str = Field(description="What went wrong, for a person")
    details: list[str] | None = None


class Health(BaseModel):
    """Liveness and database reachability."""

    status: str
    database: str
    version: str


class TokenIn(BaseModel):
    """A password login."""

    username: Annotated[str, Field(max_length=64)]
    password: Annotated[str, Field(max_length=1024)]


class TokenOut(BaseModel):
    """A new API token; it is shown once and stored only as a hash."""

    token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth 2 token type, not a secret)


class MeOut(BaseModel):
    """The caller and their roles."""

    username: str
    roles: dict[str, Role] = Field(description="city slug -> role")


class CityOut(BaseModel):
    """A city (tenant) and its settings."""

    model_config = ConfigDict(from_attributes=True)

    slug: str
    name: str
    country: str
    timezone: str
    lat: float
    lon: float
    currency: str
    tariff_per_kwh: float | None
    co2_kg_per_kwh: float | None
    created_at: datetime
    assets: dict[AssetKind, int] | None = None


class CityPatch(BaseModel):
    """Settings an admin may change; slug and country are fixed."""

    model_config = ConfigDict(extra="forbid")

    name: Text | None = None
    timezone: Annotated[str, Field(max_length=64)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None = None
    tariff_per_kwh: Annotated[float, Field(ge=0, lt=100)] | None = None
    co2_kg_per_kwh: Annotated[float, Field(ge=0, le=2)] | None = None


class AssetIn(BaseModel):
    """An asset to create, with the same fields as an inventory file row."""

    model_config = ConfigDict(extra="forbid")

    kind: AssetKind
    code: Annotated[str, Field(min_length=1, max_length=64)]
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    name: Text = ""
    status: AssetStatus = AssetStatus.IN_SERVICE
    street: Text = ""
    street_class: StreetClass | None = None
    cabinet: Annotated[str, Field(max_length=64)] | None = None
    group: Text = ""
    installed_on: date | None = None
    luminaire: LuminaireType | None = None
    rated_watts: Annotated[float, Field(gt=0, le=2000)] | None = None
    lamp_changed_on: date | None = None
    controller_id: Text = ""
    controller_vendor: Text = ""
    phases: Annotated[list[Annotated[int, Field(ge=1, le=40)]], Field(max_length=40)] = []
    device: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    device_firmware: Annotated[str, Field(max_length=64)] = ""


class AssetPatch(BaseModel):
    """Fields of an asset to change; kind and code are fixed."""

    model_config = ConfigDict(extra="forbid")

    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    name: Text | None = None
    status: AssetStatus | None = None
    street: Text | None = None
    street_class: StreetClass | None = None
    cabinet: Annotated[str, Field(max_length=64)] | None = None
    group: Text | None = None
    installed_on: date | None = None
    luminaire: LuminaireType | None = None
    rated_watts: Annotated[float, Field(gt=0, le=2000)] | None = None
    lamp_changed_on: date | None = None
    controller_id: Text | None = None
    controller_vendor: Text | None = None
    phases: Annotated[list[Annotated[int, Field(ge=1, le=40)]], Field(max_length=40)] | None = None
    device: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    device_firmware: Annotated[str, Field(max_length=64)] | None = None


class AssetOut(AssetIn):
    """A stored asset."""

    # Read straight from the domain's Asset (its attributes carry the same names).
    model_config = ConfigDict(extra="ignore", from_attributes=True)

    id: int
    cabinet_id: int | None
    updated_at: datetime | None


class AssetPage(BaseModel):
    """One page of assets; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[AssetOut]
    next_cursor: str | None


class DeviceOut(BaseModel):
    """A device in the street."""

    model_config = ConfigDict(from_attributes=True)

    uid: str
    kind: DeviceKind
    firmware: str
    asset_id: int | None
    asset_code: str | None
    last_seen_at: datetime | None
    has_credentials: bool


class DevicePage(BaseModel):
    """One page of devices."""

    items: list[DeviceOut]
    next_cursor: str | None


class ImportRunOut(BaseModel):
    """One import attempt."""

    model_config = ConfigDict(from_attributes=True)

    id: int | None
    at: datetime | None
    source: str
    format: str
    actor: str
    rows: int
    error_count: int
    accepted: bool
    errors: list[str]


class ImportOut(BaseModel):
    """The outcome of an import."""

    accepted: bool
    dry_run: bool
    rows: int
    inserted: int
    updated: int
    devices: int
    errors: list[str] = Field(description="Every problem found, as 'line N: reason'")
    run_id: int | None
