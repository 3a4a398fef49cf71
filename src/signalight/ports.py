"""What the services need from the world, as Protocols; adapters implement them."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from signalight.domain.alarms import (
    Alarm,
    AlarmEvent,
    AlarmQuery,
    AlarmState,
    AlarmType,
    EventKind,
)
from signalight.domain.assets import (
    Asset,
    AssetKind,
    AssetQuery,
    AssetRecord,
    Device,
    DeviceKind,
    Page,
    UpsertResult,
)
from signalight.domain.cities import City, Place
from signalight.domain.faults import DeviceProfile
from signalight.domain.inventory import ExistingAsset, ExistingDevice, ImportRun
from signalight.domain.notifications import (
    Channel,
    Delivery,
    DeliveryQuery,
    FollowUp,
    Mail,
    Outcome,
    Subscription,
)
from signalight.domain.readings import Reading, RejectReason
from signalight.domain.telemetry import Accepted, DeadLetter, DeviceRef, DeviceState, HourlyRollup
from signalight.domain.users import ApiToken, AuditEntry, Role, User


class Clock(Protocol):
    """The current time, so rules and tests do not read the wall clock directly."""

    def now(self) -> datetime:
        """The current timezone-aware UTC time."""
        ...


class Gazetteer(Protocol):
    """Where a city's centre, time zone and currency come from when not given."""

    def lookup(self, name: str, country: str | None = None) -> Place:
        """The best match for a place name; NotFoundError if none."""
        ...

    def currency(self, country: str) -> str:
        """A country's ISO 4217 currency."""
        ...

    def timezone_at(self, lat: float, lon: float) -> str:
        """The IANA time zone at a point."""
        ...

    def nearest(self, lat: float, lon: float) -> Place:
        """The place nearest a point, which tells its country; NotFoundError if none is near."""
        ...


class CityRepository(Protocol):
    """Cities, the tenants."""

    def add_city(self, city: City) -> City:
        """Store a new city; ConflictError if its slug is taken."""
        ...

    def get_city(self, slug: str) -> City:
        """The city with that slug; NotFoundError if none."""
        ...

    def list_cities(self, ids: Sequence[int] | None = None) -> list[City]:
        """All cities, or those with the given ids, by slug."""
        ...

    def update_city(self, city: City) -> City:
        """Store changed settings of an existing city."""
        ...


class AssetWriter(Protocol):
    """Writes one city's records in batches inside one transaction."""

    def write(self, records: Sequence[AssetRecord]) -> None:
        """Insert or update (by code) one batch, cabinets first, and bind its devices."""
        ...

    def result(self) -> UpsertResult:
        """What the writes so far changed."""
        ...


class AssetRepository(Protocol):
    """One city's inventory of assets and their devices."""

    def bulk_writer(self, city_id: int) -> AbstractContextManager[AssetWriter]:
        """A writer whose batches commit together when the block ends, or not at all."""
        ...

    def existing_assets(
        self, city_id: int, codes: Collection[str] | None = None
    ) -> dict[str, ExistingAsset]:
        """The city's asset codes (all, or just ``codes``) with their kind and bound device."""
        ...

    def existing_devices(
        self, city_id: int, uids: Collection[str] | None = None
    ) -> dict[str, ExistingDevice]:
        """The city's device ids (all, or just ``uids``) with kind and the asset bound to each."""
        ...

    def upsert_assets(self, city_id: int, records: Sequence[AssetRecord]) -> UpsertResult:
        """Insert or update (by code) all records in one transaction: all or nothing."""
        ...

    def query_assets(self, city_id: int, query: AssetQuery) -> Page[Asset]:
        """One page of the city's assets that match ``query``, by ascending id."""
        ...

    def get_asset(self, city_id: int, asset_id: int) -> Asset:
        """One asset of the city; NotFoundError if it is not there."""
        ...

    def delete_asset(self, city_id: int, asset_id: int) -> bool:
        """Delete an asset, or retire one with a history (``removed``); True if deleted.

        ConflictError while in-service assets take their power from it.
        """
        ...

    def iter_assets(self, city_id: int) -> Iterator[Asset]:
        """Every asset of the city, cabinets first, for export."""
        ...

    def count_assets(self, city_id: int) -> dict[AssetKind, int]:
        """How many assets of each kind the city has."""
        ...

    def query_devices(
        self, city_id: int, kind: DeviceKind | None, after_id: int, limit: int
    ) -> Page[Device]:
        """One page of the city's devices by ascending id."""
        ...

    def get_device(self, city_id: int, uid: str) -> Device:
        """One device of the city by its id; NotFoundError if none."""
        ...


class UserRepository(Protocol):
    """Users, their roles per city and their API tokens (stored as hashes only).

    Every change takes who made it and when, and keeps an audit entry of it
    in the same transaction.
    """

    def add_user(
        self, username: str, password_hash: str | None, *, actor: str, at: datetime
    ) -> User:
        """Create a user; ConflictError if the name is taken."""
        ...

    def get_user(self, username: str) -> tuple[User, str | None]:
        """A user and the stored password hash; NotFoundError if none."""
        ...

    def list_users(self, city_id: int | None) -> list[User]:
        """Every user, or those with a role in ``city_id``, by name."""
        ...

    def set_role(
        self, user_id: int, city_id: int, role: Role | None, *, actor: str, at: datetime
    ) -> None:
        """Give the user a role in a city, or take it away with None."""
        ...

    def add_token(
        self,
        user_id: int,
        token_hash: str,
        label: str,
        expires_at: datetime | None,
        *,
        actor: str,
        at: datetime,
    ) -> int:
        """Store a new API token's hash; returns the token's id."""
        ...

    def user_for_token(self, token_hash: str, now: datetime) -> User | None:
        """The enabled user whose unexpired, unrevoked token has that hash, else None."""
        ...

    def list_tokens(self, user_id: int) -> list[ApiToken]:
        """The user's tokens, newest first, revoked and expired ones too."""
        ...

    def revoke_token(self, user_id: int, token_id: int, *, actor: str, at: datetime) -> ApiToken:
        """Revoke one of the user's tokens; NotFoundError if it is not theirs."""
        ...

    def set_disabled(self, user_id: int, *, disabled: bool, actor: str, at: datetime) -> bool:
        """Disable or enable a user; True if that changed anything."""
        ...

    def remove_user(self, user_id: int, *, actor: str, at: datetime) -> None:
        """Delete a user with their roles and tokens."""
        ...

    def audit(self, city_id: int | None, limit: int, before: int | None = None) -> list[AuditEntry]:
        """Audit entries, newest first: a city's, or all with None; ``before`` an entry id."""
        ...


class ImportLog(Protocol):
    """Every inventory import attempt, accepted or refused, per city."""

    def record_import(self, city_id: int, run: ImportRun) -> ImportRun:
        """Keep a run; returns it with its id and time."""
        ...

    def list_imports(self, city_id: int, limit: int) -> list[ImportRun]:
        """The city's latest runs, newest first."""
        ...


class DeviceCredentialStore(Protocol):
    """Devices' MQTT credentials, kept as hashes only (the secrets are shown once)."""

    def set_credentials(self, city_id: int, hashes: Mapping[str, str | None]) -> None:
        """Store each device's new hash (None removes it) in one transaction: all or nothing.

        NotFoundError, and nothing stored, if any device is not in the city.
        """
        ...

    def credentials(self, city_id: int | None = None) -> list[tuple[str, str, str]]:
        """``(city slug, device id, hash)`` of every device with credentials, in one city or all."""
        ...


class TelemetryStore(Protocol):
    """Readings, live device state, hourly rollups and dead letters.

    ``write`` is one transaction: when it returns, everything given is stored
    and the messages may be acknowledged; when it raises, nothing is.
    """

    def devices(self) -> Iterator[DeviceRef]:
        """Every registered device of every city, for ingest's lookup table."""
        ...

    def find_device(self, city_slug: str, uid: str) -> DeviceRef | None:
        """One device by its city and id, or None."""
        ...

    def write(self, accepted: Sequence[Accepted], dead: Sequence[DeadLetter]) -> int:
        """Store a batch of readings and dead letters in one transaction.

        A reading already stored is skipped (idempotent on device, time and
        name); the devices' state is merged; the hourly rollups count only
        readings new to the store.

        Returns:
            How many readings were new.
        """
        ...

    def device_state(self, city_id: int, device_id: int) -> DeviceState | None:
        """The device's live state, or None if it has never reported."""
        ...

    def readings(
        self,
        city_id: int,
        device_id: int,
        start: float,
        end: float,
        names: Collection[str] | None,
        limit: int,
    ) -> list[Reading]:
        """A device's readings with ``start <= time < end``, oldest first, at most ``limit``."""
        ...

    def hourly(self, city_id: int, device_id: int, start: float, end: float) -> list[HourlyRollup]:
        """A device's hourly rollups whose hour starts in ``[start, end)``, oldest first."""
        ...

    def dead_letters(
        self, city_id: int | None, limit: int, before_id: int | None = None
    ) -> list[DeadLetter]:
        """Dead letters, newest first: one city's (None: all, for the service operator)."""
        ...

    def dead_letter_counts(self, city_id: int | None) -> dict[RejectReason, int]:
        """How many dead letters there are per reason."""
        ...

    def heard_since(self, since: float) -> Iterator[tuple[int, float]]:
        """``(device id, time of its newest reading)`` of each device heard since ``since``."""
        ...

    def prune(self, before: float) -> int:
        """Delete raw readings and dead letters older than ``before``; returns readings deleted.

        Hourly rollups and live state are kept.
        """
        ...


class AlarmSink(Protocol):
    """Where the detector's decisions go: the alarm store, as the recorder sees it."""

    def record(self, changes: Sequence[tuple[Alarm, EventKind, float]]) -> list[AlarmEvent]:
        """Store steps in one transaction (see ``AlarmStore.record``)."""
        ...

    def reject(self, letters: Sequence[DeadLetter]) -> None:
        """Keep steps that could not be stored as dead letters, with their reason."""
        ...


class AlarmStore(Protocol):
    """Alarms, their history as events, and each city's detection settings.

    The detector writes what it decided with :meth:`record`; operators act
    through the other methods. Each state change is guarded by the state it
    expects, so an operator's acknowledgement and the detector's clearing
    never overwrite each other.
    """

    def record(self, changes: Sequence[tuple[Alarm, EventKind, float]]) -> list[AlarmEvent]:
        """Store the detector's steps in one transaction, in order; returns their events.

        ``RAISED`` and ``HELD`` insert the alarm (setting its id); ``CLEARED``,
        ``RELEASED`` and ``CLOSED`` move it on if it is still where the step
        expects; ``REOPENED`` reopens a cleared alarm, or raises it anew (new
        id) if an operator closed it meanwhile.
        """
        ...

    def reject(self, letters: Sequence[DeadLetter]) -> None:
        """Keep steps that could not be stored as dead letters (a deleted city's: no city)."""
        ...

    def open_alarms(self) -> list[Alarm]:
        """Every alarm not closed, of every city (the detector's start)."""
        ...

    def get_alarm(self, city_id: int, alarm_id: int) -> Alarm:
        """One alarm of the city; NotFoundError if none."""
        ...

    def query_alarms(self, city_id: int, query: AlarmQuery) -> Page[Alarm]:
        """The city's alarms that match, newest first; ``next_after`` continues before it."""
        ...

    def alarm_counts(
        self, city_id: int, states: Collection[AlarmState]
    ) -> list[tuple[AlarmType, str, int]]:
        """How many of the city's alarms in ``states`` (not held) per type and severity."""
        ...

    def act(
        self, city_id: int, alarm_id: int, kind: EventKind, actor: str, at: float, note: str
    ) -> Alarm:
        """An operator's step: acknowledge, note or close; returns the alarm after it.

        Raises:
            NotFoundError: The city has no such alarm.
            ConflictError: The alarm is not in a state that allows the step
                (closing an active alarm, acknowledging a closed one).
        """
        ...

    def history(self, city_id: int, alarm_id: int) -> list[AlarmEvent]:
        """One alarm's events, oldest first."""
        ...

    def events_after(
        self, after_id: int, limit: int, city_ids: Collection[int] | None = None
    ) -> list[AlarmEvent]:
        """Events with ids above ``after_id`` (of some cities, or all), oldest first."""
        ...

    def last_event_id(self) -> int:
        """The newest event's id of any city, 0 if there is none: where a live feed starts."""
        ...

    def detection_overrides(self) -> dict[int, dict[str, object]]:
        """Each city's detection setting overrides, by city id."""
        ...

    def set_detection_overrides(
        self, city_id: int, overrides: Mapping[str, object], at: float
    ) -> None:
        """Replace the city's overrides."""
        ...


class FleetInventory(Protocol):
    """What the fault rules read of the inventory: devices with their assets, cabinets' lights."""

    def versions(self) -> dict[int, int]:
        """Each city's inventory version: it moves on with every change of assets or devices."""
        ...

    def profiles(self, device_ids: Collection[int]) -> list[DeviceProfile]:
        """The devices' profiles (those that exist)."""
        ...

    def cabinet_lights(self, cabinet_ids: Collection[int]) -> dict[int, list[int]]:
        """The device ids of the lights each cabinet powers."""
        ...

    def cabinet(self, cabinet_id: int) -> tuple[str | None, int | None]:
        """A cabinet's code, and the device (its meter) bound to it if any."""
        ...


class NotificationStore(Protocol):
    """Subscriptions, the delivery log (also the notifier's queue), its cursor and follow-ups.

    Only the process holding the notifier's lease reads the alarm feed and
    sends; :meth:`commit` moves the cursor and queues what was decided in one
    transaction, so an event is neither lost nor queued twice by a restart.
    """

    def add_subscription(self, subscription: Subscription) -> Subscription:
        """Store a new subscription; returns it with its id."""
        ...

    def get_subscription(self, city_id: int, subscription_id: int) -> Subscription:
        """One subscription of the city; NotFoundError if none."""
        ...

    def list_subscriptions(self, city_id: int | None = None) -> list[Subscription]:
        """One city's subscriptions (None: every city's), by id."""
        ...

    def update_subscription(self, subscription: Subscription) -> Subscription:
        """Store changed fields; disabling fails the subscription's pending deliveries."""
        ...

    def delete_subscription(self, city_id: int, subscription_id: int) -> None:
        """Remove a subscription and its deliveries; NotFoundError if none."""
        ...

    def deliveries(self, city_id: int, query: DeliveryQuery) -> Page[Delivery]:
        """The city's delivery log, newest first; ``next_after`` continues before it."""
        ...

    def claim(self, owner: str, now: float, ttl_s: float) -> int | None:
        """Take or renew the notifier's lease until ``now + ttl_s``.

        Returns:
            The id of the last alarm event read, or None if another owner holds the lease.
        """
        ...

    def release(self, owner: str) -> None:
        """Give the lease up, if ``owner`` holds it."""
        ...

    def commit(
        self,
        queued: Sequence[Delivery],
        follow_ups: Sequence[FollowUp] = (),
        done: Collection[int] = (),
        cursor: tuple[str, int, int] | None = None,
    ) -> None:
        """In one transaction: queue ``queued``, keep follow-ups, drop those of ``done`` alarms.

        A delivery already queued for the same subscription and event is
        skipped. ``cursor`` is ``(owner, read, to)``: the cursor moves from
        ``read`` to ``to`` if the owner still holds the lease and nobody moved
        it meanwhile, else ConflictError and nothing is stored.
        """
        ...

    def follow_ups(self, alarm_ids: Collection[int]) -> dict[int, FollowUp]:
        """The follow-ups kept for those alarms, by alarm id."""
        ...

    def due_follow_ups(self, now: float, limit: int) -> list[FollowUp]:
        """Follow-ups whose escalation or reminder is due by ``now``."""
        ...

    def due_deliveries(
        self, channel: Channel, now: float, limit: int, quiet_since: float | None = None
    ) -> list[Delivery]:
        """Pending deliveries of enabled subscriptions due by ``now``, oldest first.

        With ``quiet_since``, only those of subscriptions sent nothing since then.
        """
        ...

    def finish(self, attempted: Sequence[Delivery], sent_to: Collection[int] = ()) -> None:
        """Store the attempts made, and that ``sent_to`` (subscription ids) were just sent to."""
        ...


class WebhookSender(Protocol):
    """POSTs one signed JSON body to a subscriber's URL."""

    def post(self, url: str, secret: str, body: bytes, event: str, delivery_id: int) -> Outcome:
        """One attempt; failures come back as an Outcome, never raised."""
        ...


class MailSender(Protocol):
    """Sends plain-text e-mails."""

    def send(self, mails: Sequence[Mail]) -> list[Outcome]:
        """One attempt per mail, over one connection; an Outcome per mail, in order."""
        ...
