"""The API's request and response bodies (Pydantic), separate from the domain values."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

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


# "Not set" is null in every asset body, in JSON as in GeoJSON. The domain
# keeps such text as "" and no phases as (); record_values() and AssetOut
# translate at this edge.
NOT_SET_AS_EMPTY = (
    "name",
    "street",
    "group",
    "controller_id",
    "controller_vendor",
    "device_firmware",
)
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]
Phases = Annotated[list[Annotated[int, Field(ge=1, le=40)]], Field(max_length=40)]
DeviceUid = Annotated[str, Field(min_length=1, max_length=64)]
Firmware = Annotated[str, Field(max_length=64)]


def record_values(fields: dict[str, Any]) -> dict[str, Any]:
    """Body fields as AssetRecord takes them: null text as "", phases as a tuple."""
    values = dict(fields)
    for name in NOT_SET_AS_EMPTY:
        if name in values and values[name] is None:
            values[name] = ""
    if "phases" in values:
        values["phases"] = tuple(values["phases"] or ())
    return values


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _refuse_null(value: object, info: ValidationInfo) -> object:
    if value is None:
        raise ValueError(f"{info.field_name} cannot be null; leave it out to keep it")
    return value


def _kept_when_left_out() -> Any:  # noqa: ANN401 (pydantic's Field() is typed Any)
    # A field that may be left out of a PATCH but never be null: the schema
    # shows it as neither nullable nor defaulted.
    return Field(default=None, json_schema_extra=_no_default)


class CityPatch(BaseModel):
    """Settings an admin may change; slug and country are fixed.

    Fields left out stay as they are; null clears the tariff or the CO2
    factor, and is refused for the rest, which a city always has.
    """

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)] = _kept_when_left_out()
    timezone: Annotated[str, Field(min_length=1, max_length=64)] = _kept_when_left_out()
    lat: Lat = _kept_when_left_out()
    lon: Lon = _kept_when_left_out()
    currency: Annotated[str, Field(min_length=3, max_length=3)] = _kept_when_left_out()
    tariff_per_kwh: Annotated[float, Field(ge=0, lt=100)] | None = None
    co2_kg_per_kwh: Annotated[float, Field(ge=0, le=2)] | None = None

    _never_null = field_validator("name", "timezone", "lat", "lon", "currency", mode="before")(
        _refuse_null
    )


class AssetIn(BaseModel):
    """An asset to create, with the same fields as an inventory file row; null means not set."""

    model_config = ConfigDict(extra="forbid")

    kind: AssetKind
    code: Annotated[str, Field(min_length=1, max_length=64)]
    lat: Lat
    lon: Lon
    name: Text | None = None
    status: AssetStatus = AssetStatus.IN_SERVICE
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
    phases: Phases | None = None
    device: DeviceUid | None = None
    device_firmware: Firmware | None = None


class AssetPatch(BaseModel):
    """Fields of an asset to change; kind and code are fixed.

    Fields left out stay as they are; null clears a field that may be unset.
    lat, lon and status are never unset, so null is refused for them.
    """

    model_config = ConfigDict(extra="forbid")

    lat: Lat = _kept_when_left_out()
    lon: Lon = _kept_when_left_out()
    name: Text | None = None
    status: AssetStatus = _kept_when_left_out()
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
    phases: Phases | None = None
    device: DeviceUid | None = Field(
        None, description="null only for an asset with no device: a PATCH cannot unbind one"
    )
    device_firmware: Firmware | None = None

    _never_null = field_validator("lat", "lon", "status", mode="before")(_refuse_null)


class AssetOut(AssetIn):
    """A stored asset; a field that is not set is null."""

    # Read straight from the domain's Asset (its attributes carry the same names).
    model_config = ConfigDict(extra="ignore", from_attributes=True)

    id: int
    cabinet_id: int | None
    updated_at: datetime | None

    @field_validator(*NOT_SET_AS_EMPTY, "phases", mode="before")
    @classmethod
    def _empty_is_null(cls, value: object) -> object:
        return value or None


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
