"""Settings, read once from the environment (``SIGNALIGHT_*``) by the entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

import platformdirs
from pydantic import Field, FilePath, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from signalight.domain.telemetry import DAY, MAX_MESSAGE_BYTES, MAX_PAST_S


def default_data_dir() -> Path:
    """Where the embedded database lives unless ``SIGNALIGHT_DATA_DIR`` says otherwise."""
    return Path(platformdirs.user_data_dir("signalight", appauthor=False))


class Settings(BaseSettings):
    """Everything Signalight can be configured with; validated at start-up."""

    model_config = SettingsConfigDict(env_prefix="SIGNALIGHT_", env_file=None, extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    # Empty means the embedded SQLite database in data_dir.
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # The console's base map: a MapLibre style URL (a city's own tile server, or
    # a style whose sources are "pmtiles://https://.../city.pmtiles"). Empty: the
    # light offline layer shipped in the package (Natural Earth borders).
    map_style_url: str = Field(default="", max_length=2000, pattern=r"^(https?://\S+)?$")
    # Uploads above this are refused before they are read in full.
    max_upload_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    # An imported asset farther than this from the city centre is a data error
    # (swapped lat/lon is the usual cause).
    import_max_distance_km: float = Field(default=100.0, gt=0)
    # API tokens issued by `user add` and `auth/token` live this long (0: no expiry).
    token_ttl_days: int = Field(default=365, ge=0)
    # Password checks (argon2, a core for some 150 ms each) running at once in
    # this process; more logins at the same moment are answered 503 at once.
    login_concurrency: int = Field(default=1, ge=1, le=16)
    # A browser session (POST /auth/session, the console's cookie) lives this long.
    session_hours: int = Field(default=12, ge=1, le=720)
    # Mark the session cookie Secure (sent over HTTPS only): set it behind HTTPS.
    cookie_secure: bool = False

    # The MQTT broker ingest reads; empty means none (the demo then feeds its
    # simulator straight into ingest, in the process).
    mqtt_host: str = ""
    # None: 8883 with TLS, 1883 without (see mqtt_effective_port).
    mqtt_port: int | None = Field(default=None, ge=1, le=65535)
    # TLS to the broker, verifying its certificate and host name (there is no
    # way to skip that). With no CA file the system's trusted CAs are used.
    # None (unset): TLS when any of the files below is set.
    mqtt_tls: bool | None = None
    mqtt_tls_ca: FilePath | None = None
    # A client certificate for a broker that requires one, and its key (PEM,
    # unencrypted; none if the key is in the certificate's file).
    mqtt_tls_cert: FilePath | None = None
    mqtt_tls_key: FilePath | None = None
    mqtt_username: str = "signalight-ingest"
    # Empty: read the secret `signalight device broker-files` made in data_dir.
    mqtt_password: SecretStr = SecretStr("")
    # The MQTT 5 shared subscription group of several ingest workers, the same
    # for all: each message goes to one worker of the group. Empty: one worker.
    mqtt_share_group: str = ""
    # Also read LoRaWAN uplinks from ChirpStack / The Things Stack on the same broker,
    # routed to cities by the JSON file below (docs/protocol.md, LoRaWAN).
    mqtt_lorawan: bool = False
    lorawan_file: Path | None = None
    # A SenML pack longer than this is refused before it is parsed.
    ingest_max_bytes: int = Field(default=MAX_MESSAGE_BYTES, ge=256, le=1_048_576)
    # Messages per stored batch, and the longest a message waits for its batch.
    ingest_batch: int = Field(default=2000, ge=1, le=30_000)
    ingest_wait_ms: int = Field(default=50, ge=1, le=10_000)
    # Readings older than this far in the past are refused (nodes buffer offline).
    ingest_max_past_days: float = Field(default=MAX_PAST_S / DAY, gt=0)
    # A controller event log file larger than this is refused before it is read
    # (`signalight signals import` and the drop directory); a day of a busy
    # controller's .dat is a few MB.
    signal_log_max_bytes: int = Field(default=256 * 1024 * 1024, ge=1024, le=4 * 1024**3)
    # Raw readings and dead letters are deleted after this many days (0: kept);
    # hourly rollups and live state are kept.
    retention_days: float = Field(default=90.0, ge=0)

    # Notifications (docs/notifications.md). `signalight serve` runs the notifier
    # in its process unless this is false (then run `signalight notify` instead).
    notify: bool = True
    # How often the notifier looks for new alarm events and due retries.
    notify_interval_s: float = Field(default=5.0, gt=0, le=300)
    # A failed delivery is tried again after 30 s, 1 min, 2 min, ... (at most an
    # hour apart) until it has been tried this many times.
    notify_max_attempts: int = Field(default=8, ge=1, le=50)
    notify_retry_base_s: float = Field(default=30.0, gt=0)
    notify_retry_max_s: float = Field(default=3600.0, gt=0)
    # Webhook POSTs in flight at once, and how long each may take.
    notify_webhook_concurrency: int = Field(default=8, ge=1, le=64)
    notify_webhook_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # Allow webhooks to loopback and private addresses (on-premises receivers,
    # tests). Off by default: a city's admin must not reach the service's neighbours.
    notify_webhook_private: bool = False
    # An e-mail recipient gets at most one message (a digest) per this period.
    notify_digest_s: float = Field(default=60.0, ge=0, le=86_400)
    # The SMTP server e-mail notifications go through; empty: no e-mail.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = True
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = "signalight@localhost"
    smtp_timeout_s: float = Field(default=30.0, gt=0, le=300)

    # Judge the fault rules (docs/faults.md) on what this process ingests. Off in
    # workers of a shared subscription: each sees only some of a device's reports.
    detect: bool = True

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("database_url must be a sqlite:// or postgresql:// URL")
        return value

    @model_validator(mode="after")
    def _tls_files_consistent(self) -> Self:
        if self.mqtt_tls_key is not None and self.mqtt_tls_cert is None:
            raise ValueError(
                "SIGNALIGHT_MQTT_TLS_KEY is set without SIGNALIGHT_MQTT_TLS_CERT, its certificate"
            )
        if self.mqtt_tls is False and self._mqtt_tls_files:
            # Refused rather than guessed: one of the two settings is a mistake.
            raise ValueError(
                "SIGNALIGHT_MQTT_TLS is false, yet SIGNALIGHT_MQTT_TLS_CA or _CERT is set"
            )
        return self

    @property
    def _mqtt_tls_files(self) -> bool:
        return any(path is not None for path in (self.mqtt_tls_ca, self.mqtt_tls_cert))

    @property
    def mqtt_tls_on(self) -> bool:
        """Whether ingest reaches the broker over TLS."""
        return self.mqtt_tls if self.mqtt_tls is not None else self._mqtt_tls_files

    @property
    def mqtt_effective_port(self) -> int:
        """The broker's port: as set, else MQTT's usual one (8883 with TLS, 1883 without)."""
        if self.mqtt_port is not None:
            return self.mqtt_port
        return 8883 if self.mqtt_tls_on else 1883

    @property
    def ingest_max_past_s(self) -> float:
        """How far back a reading may be, in seconds (``ingest_max_past_days``)."""
        return self.ingest_max_past_days * DAY

    @property
    def effective_database_url(self) -> str:
        """The database URL, with the embedded SQLite default filled in."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'signalight.db'}"

    @property
    def embedded(self) -> bool:
        """Whether the embedded SQLite database is in use."""
        return self.effective_database_url.startswith("sqlite")
