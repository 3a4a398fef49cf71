"""The composition root: builds the adapters and services once, from the settings."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

from signalight.adapters.clock import SystemClock
from signalight.adapters.command_metrics import CommandMetrics
from signalight.adapters.files import make_private_dir
from signalight.adapters.gazetteer import GeoNamesGazetteer
from signalight.adapters.metrics import IngestMetrics
from signalight.adapters.smtp import SmtpConfig, SmtpMailer
from signalight.adapters.sql.commands import SqlCommandStore
from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.energy import SqlEnergyReads
from signalight.adapters.sql.intersection_reads import SqlIntersectionReads
from signalight.adapters.sql.networks import SqlNetworkStore
from signalight.adapters.sql.schedule_lights import SqlLightDirectory
from signalight.adapters.sql.schedules import SqlScheduleStore
from signalight.adapters.sql.status_reads import SqlStatusReads
from signalight.adapters.sql.windows import SqlWindowStore
from signalight.adapters.webhook import WebhookClient
from signalight.codecs.lorawan import ApplicationRoute, parse_routes
from signalight.domain.errors import InvalidInputError
from signalight.domain.faults import DetectionSettings
from signalight.domain.notifications import RetryPolicy
from signalight.ports import Clock
from signalight.services.accounts import AccountService
from signalight.services.alarms import AlarmService
from signalight.services.auth import AuthService
from signalight.services.cities import Cities
from signalight.services.city_status import CityStatus
from signalight.services.command_lorawan import lorawan_routes
from signalight.services.command_routes import Router
from signalight.services.commands import CommandService
from signalight.services.detection import Detector
from signalight.services.detection_loop import DetectionLoop
from signalight.services.door_windows import DoorAuthority, DoorWindows
from signalight.services.energy import GAP_LOOK_S, EnergyService
from signalight.services.ingest import IngestLimits, IngestService
from signalight.services.intersections import Intersections
from signalight.services.inventory import Inventory
from signalight.services.login_guard import LoginGuard
from signalight.services.maintenance import MaintenanceService
from signalight.services.networks import Networks
from signalight.services.notifications import Notifier, NotifierConfig
from signalight.services.repairs import Repairs
from signalight.services.retention import RetentionJob
from signalight.services.schedules import Schedules
from signalight.services.signal_logs import SignalLogs
from signalight.services.signal_watchdog import SignalWatchdog
from signalight.services.subscriptions import Subscriptions
from signalight.settings import Settings


@dataclass
class Container:
    """Everything an entry point needs, wired together. Build it with :func:`build`."""

    settings: Settings
    db: SqlDatabase
    clock: Clock = field(default_factory=SystemClock)

    @functools.cached_property
    def auth(self) -> AuthService:
        """Credentials and roles."""
        guard = LoginGuard(self.clock, concurrent_hashes=self.settings.login_concurrency)
        return AuthService(self.db.users, self.clock, self.settings.token_ttl_days, guard=guard)

    @functools.cached_property
    def accounts(self) -> AccountService:
        """Tokens revoked, users disabled and removed, the audit log."""
        return AccountService(self.db.users, self.clock)

    @functools.cached_property
    def subscriptions(self) -> Subscriptions:
        """Cities' notification subscriptions and delivery logs, as the API manages them."""
        return Subscriptions(
            self.db.notifications,
            self.clock,
            mail_configured=lambda: bool(self.settings.smtp_host),
        )

    @functools.cached_property
    def cities(self) -> Cities:
        """The network's cities, as the API and the CLI read, add and change them."""
        return Cities(self.db.cities, lambda: self.gazetteer)

    @functools.cached_property
    def energy(self) -> EnergyService:
        """Cities' energy reports: metered against the dusk-to-dawn baseline and each plan."""
        return EnergyService(
            SqlEnergyReads(self.db.engine),
            self.schedules,
            now=lambda: self.clock.now().timestamp(),
            # A day is settled once ingest takes no reading of it and its gaps are seen.
            settle_after_s=self.settings.ingest_max_past_s + GAP_LOOK_S,
        )

    @functools.cached_property
    def intersections(self) -> Intersections:
        """Cities' intersections with their monitors' live state and controllers' events."""
        return Intersections(
            SqlIntersectionReads(self.db.engine),
            self.db.signal_events,
            door=DoorAuthority(self.windows),
            clock=lambda: self.clock.now().timestamp(),
        )

    @functools.cached_property
    def signal_watchdog(self) -> SignalWatchdog:
        """The daily watchdog report of cities' intersections (``docs/faults.md``)."""
        return SignalWatchdog(self.db.signal_events, self.db.assets, self.clock)

    @functools.cached_property
    def signal_logs(self) -> SignalLogs:
        """Controller event logs imported into cities' events (``signalight signals``)."""
        return SignalLogs(
            self.db.signal_events,
            self.db.signal_logs,
            max_bytes=self.settings.signal_log_max_bytes,
        )

    @functools.cached_property
    def inventory(self) -> Inventory:
        """Cities' assets and devices, as the API and the CLI read and change them."""
        return Inventory(
            self.db.assets,
            self.db.imports,
            max_distance_m=self.settings.import_max_distance_km * 1000,
        )

    @functools.cached_property
    def gazetteer(self) -> GeoNamesGazetteer:
        """The offline gazetteer; loaded on first use, as it reads a large file."""
        return GeoNamesGazetteer()

    @functools.cached_property
    def metrics(self) -> IngestMetrics:
        """This process's Prometheus metrics."""
        return IngestMetrics()

    @functools.cached_property
    def ingest(self) -> IngestService:
        """Device messages in: checked, stored, counted."""
        return self._ingest(stores=True)

    @functools.cached_property
    def judging(self) -> IngestService:
        """Ingest's checks without its store, for a process that only runs the fault rules."""
        return self._ingest(stores=False)

    def _ingest(self, *, stores: bool) -> IngestService:
        settings = self.settings
        limits = IngestLimits(
            max_bytes=settings.ingest_max_bytes,
            max_past_s=settings.ingest_max_past_s,
        )
        routes = {}
        if settings.lorawan_file is not None:
            try:
                document = settings.lorawan_file.read_bytes()
            except OSError as exc:
                raise InvalidInputError(f"cannot read {settings.lorawan_file}: {exc}") from None
            routes = parse_routes(document)
        return IngestService(
            self.db.telemetry,
            limits=limits,
            observer=self.metrics,
            lorawan_routes=routes,
            stores=stores,
        )

    @functools.cached_property
    def commands(self) -> CommandService:
        """Commands to devices and their answers (docs/protocol.md, Commands)."""
        return CommandService(
            SqlCommandStore(self.db.engine),
            self.db.assets,
            self.db.cities,
            self.clock,
            router=Router(lorawan_routes(self._lorawan_routes())),
            observer=CommandMetrics(self.metrics.registry),
        )

    def _lorawan_routes(self) -> dict[str, ApplicationRoute]:
        """The LoRaWAN routing file's applications (none without one)."""
        path = self.settings.lorawan_file
        if path is None:
            return {}
        try:
            return parse_routes(path.read_bytes())
        except OSError as exc:
            raise InvalidInputError(f"cannot read {path}: {exc}") from None

    @functools.cached_property
    def retention(self) -> RetentionJob:
        """Deletes raw readings past SIGNALIGHT_RETENTION_DAYS on a thread (not yet started)."""
        return RetentionJob(self.db.telemetry, self.settings.retention_days, observer=self.metrics)

    @functools.cached_property
    def alarms(self) -> AlarmService:
        """Alarms for operators and dashboards: lists, steps, counts, the live feed."""
        return AlarmService(self.db.alarms, self.clock)

    @functools.cached_property
    def repairs(self) -> Repairs:
        """Done means fixed: finished work orders confirmed by their alarms; cabinet doors."""
        return Repairs(self.db.maintenance, self.alarms, self.inventory, self.db.cities, self.clock)

    @functools.cached_property
    def maintenance(self) -> MaintenanceService:
        """Incidents and work orders (docs/maintenance.md)."""
        return MaintenanceService(
            self.db.maintenance, self.alarms, self.inventory, self.db.users, self.repairs,
            self.clock,
        )  # fmt: skip

    @functools.cached_property
    def windows(self) -> DoorWindows:
        """Maintenance windows and the cabinet-door check (docs/maintenance.md)."""
        return DoorWindows(
            SqlWindowStore(self.db.engine), self.db.maintenance, self.inventory, self.db.users,
            self.db.cities, self.clock,
        )  # fmt: skip

    @functools.cached_property
    def schedules(self) -> Schedules:
        """Lighting schedules: profiles, assignments, calendar, overrides and plans."""
        alarms = self.db.alarms

        def settings_of(city_id: int) -> DetectionSettings:
            return DetectionSettings().merged(alarms.detection_overrides().get(city_id, {}))

        return Schedules(
            SqlScheduleStore(self.db.engine, self.clock.now),
            SqlLightDirectory(self.db.engine),
            settings_of,
            self.clock,
        )

    @functools.cached_property
    def status(self) -> CityStatus:
        """A city at a glance: the live map snapshot and the home figures."""
        return CityStatus(
            SqlStatusReads(self.db.engine),
            self.db.alarms,
            self.clock,
            work_orders=self.db.maintenance.counts,
        )

    @functools.cached_property
    def networks(self) -> Networks:
        """Networks of cities, their roles, and their member cities side by side."""
        return Networks(SqlNetworkStore(self.db.engine), self.db.cities, self.db.users, self.status)

    @functools.cached_property
    def notifier(self) -> Notifier:
        """Alarm notifications: webhooks, e-mail, escalation, reminders (docs/notifications.md)."""
        s = self.settings
        mail = None
        if s.smtp_host:
            mail = SmtpMailer(
                SmtpConfig(
                    host=s.smtp_host,
                    port=s.smtp_port,
                    sender=s.smtp_from,
                    username=s.smtp_username,
                    password=s.smtp_password.get_secret_value(),
                    starttls=s.smtp_starttls,
                    timeout_s=s.smtp_timeout_s,
                )
            )
        webhooks = WebhookClient(
            timeout_s=s.notify_webhook_timeout_s,
            allow_private=s.notify_webhook_private,
            max_connections=s.notify_webhook_concurrency,
        )
        config = NotifierConfig(
            retry=RetryPolicy(s.notify_max_attempts, s.notify_retry_base_s, s.notify_retry_max_s),
            interval_s=s.notify_interval_s,
            digest_s=s.notify_digest_s,
            webhook_concurrency=s.notify_webhook_concurrency,
        )
        return Notifier(
            self.db.alarms,
            self.db.notifications,
            self.db.cities,
            webhooks,
            mail,
            self.clock,
            config,
        )

    @functools.cached_property
    def detection(self) -> DetectionLoop:
        """The fault rules over what ingest stores, on a thread of their own (not yet started)."""
        detector = Detector(
            self.db.alarms,
            self.db.fleet,
            self.db.cities,
            door_authority=DoorAuthority(self.windows),  # who may open a signal cabinet
            schedules=SqlScheduleStore(self.db.engine),  # each light judged by its own plan
        )
        detector.recorder.observer = self.metrics
        loop = DetectionLoop(detector)
        # Work orders waiting for their alarms to clear are confirmed when they do.
        loop.event_listeners.append(self.repairs.on_alarm_events)
        return loop

    def watch_ingest(
        self, service: IngestService | None = None, *, every_device: bool = True
    ) -> DetectionLoop | None:
        """Start fault detection on what ``service`` (this process's ingest) accepts.

        Args:
            service: The ingest whose accepted messages are judged (default: ``ingest``).
            every_device: This process sees every device's messages, so it also
                watches, from their live state, the devices heard before it started
                (a device silent since is still judged). False for a process that
                sees only some devices (``serve``, for HTTP ingest).

        Returns:
            The running loop (stop it on the way out), or None when the settings
            turn detection off.
        """
        if not self.settings.detect:
            return None
        loop = self.detection
        if every_device:
            since = time.time() - self.settings.ingest_max_past_s
            loop.detector.seed(self.db.telemetry.heard_since(since))
        loop.start()
        target = service or self.ingest
        target.listeners.append(loop.submit)
        target.stall_listeners.append(loop.stalled)
        return loop

    def close(self) -> None:
        """Release the database connections."""
        self.db.close()


def build(settings: Settings, *, migrate: bool = True) -> Container:
    """Connect to the configured database and, unless told not to, migrate it."""
    # The data directory holds the embedded database and the broker's secrets.
    make_private_dir(settings.data_dir)
    db = SqlDatabase.connect(settings.effective_database_url)
    if migrate:
        db.migrate()
    return Container(settings, db)
