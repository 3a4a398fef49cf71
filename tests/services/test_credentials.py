"""Issuing, rotating and revoking devices' MQTT credentials, stored on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from signalight.adapters.mosquitto import hash_password, verify_device_secret
from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.assets import AssetKind, AssetRecord
from signalight.domain.cities import City
from signalight.domain.errors import ConflictError, InvalidInputError, NotFoundError
from signalight.services.credentials import CredentialService, new_secret
from tests.conftest import make_city


def with_devices(db: SqlDatabase, city: City, *uids: str) -> None:
    records = [
        AssetRecord(kind=AssetKind.STREETLIGHT, code=f"SL-{n}", lat=5.38, lon=100.40, device=uid)
        for n, uid in enumerate(uids)
    ]
    db.assets.upsert_assets(city.pk, records)


def service(db: SqlDatabase) -> CredentialService:
    return CredentialService(db.assets, db.credentials, hash_password)


def stored(db: SqlDatabase, city: City) -> dict[str, str]:
    return {uid: value for _, uid, value in db.credentials.credentials(city.pk)}


def test_issue_stores_only_hashes_and_shows_each_secret_once(
    database: SqlDatabase, city: City
) -> None:
    with_devices(database, city, "A", "B")
    result = service(database).issue(city)
    assert [(c.device, c.username) for c in result.issued] == [
        ("A", f"{city.slug}/A"),
        ("B", f"{city.slug}/B"),
    ]
    hashes = stored(database, city)
    for credential in result.issued:
        assert len(credential.password) == 32
        assert credential.password not in hashes[credential.device]
        assert credential.password not in repr(credential)
        assert verify_device_secret(hashes[credential.device], credential.password)
    assert database.assets.get_device(city.pk, "A").has_credentials
    # A second run issues nothing: every device has credentials already.
    again = service(database).issue(city)
    assert (again.issued, again.kept) == ([], 2)
    assert stored(database, city) == hashes


def test_new_devices_get_credentials_and_rotation_replaces_them(
    database: SqlDatabase, city: City
) -> None:
    with_devices(database, city, "A")
    first = service(database).issue(city).issued[0]
    with_devices(database, city, "A", "B")
    assert [c.device for c in service(database).issue(city).issued] == ["B"]
    with pytest.raises(ConflictError, match="rotate"):
        service(database).issue(city, "A")
    rotated = service(database).issue(city, "A", rotate=True).issued[0]
    assert rotated.password != first.password
    hashes = stored(database, city)
    assert verify_device_secret(hashes["A"], rotated.password)
    assert not verify_device_secret(hashes["A"], first.password)
    assert len(service(database).issue(city, rotate=True).issued) == 2


def test_unknown_and_unnameable_devices(database: SqlDatabase, city: City) -> None:
    with pytest.raises(NotFoundError):
        service(database).issue(city, "nope")
    with_devices(database, city, "ok", "has:colon")
    result = service(database).issue(city)
    assert [c.device for c in result.issued] == ["ok"]
    assert len(result.refused) == 1
    assert result.refused[0].startswith("has:colon")
    with pytest.raises(InvalidInputError, match="MQTT username"):
        service(database).issue(city, "has:colon")
    assert set(stored(database, city)) == {"ok"}


def test_revoke(database: SqlDatabase, city: City) -> None:
    with_devices(database, city, "A")
    service(database).issue(city)
    service(database).revoke(city, "A")
    assert stored(database, city) == {}
    assert not database.assets.get_device(city.pk, "A").has_credentials
    with pytest.raises(NotFoundError, match="no credentials"):
        service(database).revoke(city, "A")


def test_the_store_is_all_or_nothing_and_per_city(database: SqlDatabase, city: City) -> None:
    other = make_city(database)
    with_devices(database, city, "A")
    with_devices(database, other, "B")
    with pytest.raises(NotFoundError, match="'B'"):
        database.credentials.set_credentials(city.pk, {"A": hash_password("x"), "B": "y"})
    assert stored(database, city) == {}
    service(database).issue(city)
    service(database).issue(other)
    assert set(stored(database, other)) == {"B"}
    entries = dict(service(database).broker_entries())
    assert {f"{city.slug}/A", f"{other.slug}/B"} <= set(entries)


def test_secrets_never_begin_with_a_dash() -> None:
    # token_urlsafe begins one secret in 64 with '-', which a spreadsheet opening the
    # credentials CSV would run as a formula and a command line would take for an option.
    secrets = [new_secret() for _ in range(2000)]
    assert not [secret for secret in secrets if secret.startswith("-")]
    assert {len(secret) for secret in secrets} == {32}
    assert len(set(secrets)) == 2000
