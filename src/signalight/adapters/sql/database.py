"""One SQL database: the engine, its migrations, and the repositories over it."""

from __future__ import annotations

import logging

from sqlalchemy import Engine, text

from signalight.adapters.sql import migrate
from signalight.adapters.sql.alarms import SqlAlarmStore
from signalight.adapters.sql.assets import SqlAssetRepository
from signalight.adapters.sql.cities import SqlCityRepository
from signalight.adapters.sql.credentials import SqlDeviceCredentialStore
from signalight.adapters.sql.engine import describe, make_engine
from signalight.adapters.sql.errors import translated
from signalight.adapters.sql.fleet import SqlFleetInventory
from signalight.adapters.sql.imports import SqlImportLog
from signalight.adapters.sql.maintenance import SqlMaintenanceStore
from signalight.adapters.sql.notifications import SqlNotificationStore
from signalight.adapters.sql.signal_events import SqlSignalEvents
from signalight.adapters.sql.signal_log_files import SqlSignalLogFiles
from signalight.adapters.sql.telemetry import SqlTelemetryStore
from signalight.adapters.sql.users import SqlUserRepository

log = logging.getLogger(__name__)


class SqlDatabase:
    """The repositories of one database, sharing one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.cities = SqlCityRepository(engine)
        self.assets = SqlAssetRepository(engine)
        self.users = SqlUserRepository(engine)
        self.imports = SqlImportLog(engine)
        self.credentials = SqlDeviceCredentialStore(engine)
        self.telemetry = SqlTelemetryStore(engine)
        self.alarms = SqlAlarmStore(engine)
        self.fleet = SqlFleetInventory(engine)
        self.notifications = SqlNotificationStore(engine)
        self.maintenance = SqlMaintenanceStore(engine)
        self.signal_events = SqlSignalEvents(engine)
        self.signal_logs = SqlSignalLogFiles(engine)

    @classmethod
    def connect(cls, url: str) -> SqlDatabase:
        """Open (without migrating) the database at ``url``."""
        return cls(make_engine(url))

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return describe(self.engine)

    def migrate(self) -> bool:
        """Bring the schema up to date; True if anything was applied."""
        with translated("migrate"):
            return migrate.upgrade(self.engine)

    def ping(self) -> None:
        """Raise StorageError unless the database answers."""
        with translated("ping"), self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
