"""Building blocks of the maintenance tests: a container on a manual clock, assets, alarms."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from PIL import Image

from signalight.adapters.clock import ManualClock
from signalight.adapters.sql.database import SqlDatabase
from signalight.container import Container
from signalight.domain.alarms import Alarm, AlarmType, EventKind, Severity
from signalight.domain.assets import Asset, AssetKind, AssetRecord
from signalight.domain.cities import City
from signalight.domain.users import Role, User
from signalight.settings import Settings
from tests.conftest import unique

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
T0 = 1_700_000_000.0  # the alarms' stream time


def container_at(settings: Settings, database: SqlDatabase) -> tuple[Container, ManualClock]:
    """A container over the test database whose clock moves only when told."""
    clock = ManualClock(START)
    return Container(settings, database, clock=clock), clock


def make_asset(
    container: Container, city: City, kind: AssetKind = AssetKind.STREETLIGHT, **fields: Any
) -> Asset:
    """An asset near the city's centre with a unique code."""
    record = AssetRecord(kind=kind, code=unique(str(kind)), lat=5.38, lon=100.40, **fields)
    return container.inventory.create(city, record)


def make_user(container: Container, city: City, role: Role) -> User:
    """A new user with ``role`` in ``city``."""
    name = unique(str(role))
    container.auth.add_user(name, None)
    container.auth.grant(name, city, role)
    return container.db.users.get_user(name)[0]


def raise_alarm(container: Container, city: City, asset: Asset | None, **overrides: Any) -> Alarm:
    """Raise (or hold) an alarm the way the detector does."""
    values: dict[str, Any] = {
        "city_id": city.pk,
        "type": AlarmType.LAMP_FAILURE,
        "severity": Severity.MINOR,
        "asset_id": None if asset is None else asset.id,
        "asset_code": None if asset is None else asset.code,
        "raised_at": T0,
        "observed_at": T0 - 30,
        "updated_at": T0,
        "message": "draws 3 W of the 60 W expected",
    }
    values.update(overrides)
    alarm = Alarm(**values)
    kind = EventKind.HELD if alarm.held else EventKind.RAISED
    container.db.alarms.record([(alarm, kind, alarm.raised_at)])
    return alarm


def clear_alarm(container: Container, alarm: Alarm, at: float = T0 + 600) -> list[Any]:
    """The detector sees the condition end; returns the events stored (what a flush returns)."""
    return container.db.alarms.record([(alarm, EventKind.CLEARED, at)])


def jpeg_with_exif(size: tuple[int, int] = (64, 48)) -> bytes:
    """A JPEG whose EXIF names a camera and a GPS position, as a phone's photo does."""
    image = Image.new("RGB", size, (200, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "SpyPhone"  # Make
    exif[0x0110] = "SP-1 serial 0042"  # Model
    exif[0x8825] = {1: "N", 2: (5.0, 23.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"secret comment")
    return out.getvalue()
