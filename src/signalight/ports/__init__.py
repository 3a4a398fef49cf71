"""What the services need from the world, as Protocols; adapters implement them.

One module per area; every Protocol is importable from here.
"""

from signalight.ports.accounts import UserRepository
from signalight.ports.alarms import AlarmSink, AlarmStore, DetectorStore
from signalight.ports.inventory import (
    AssetRepository,
    AssetWriter,
    CityRepository,
    DeviceCredentialStore,
    FleetInventory,
    ImportLog,
)
from signalight.ports.maintenance import MaintenanceStore
from signalight.ports.notifications import MailSender, NotificationStore, WebhookSender
from signalight.ports.telemetry import TelemetryStore
from signalight.ports.windows import WindowStore
from signalight.ports.world import Clock, Gazetteer

__all__ = [
    "AlarmSink",
    "AlarmStore",
    "AssetRepository",
    "AssetWriter",
    "CityRepository",
    "Clock",
    "DetectorStore",
    "DeviceCredentialStore",
    "FleetInventory",
    "Gazetteer",
    "ImportLog",
    "MailSender",
    "MaintenanceStore",
    "NotificationStore",
    "TelemetryStore",
    "UserRepository",
    "WebhookSender",
    "WindowStore",
]
