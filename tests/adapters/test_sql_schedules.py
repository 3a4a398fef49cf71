"""The schedule store on SQLite and PostgreSQL: round trips, revisions, audit, conflicts, cities."""

from __future__ import annotations

from datetime import date

import pytest

from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.schedule_lights import SqlLightDirectory
from signalight.adapters.sql.schedules import SqlScheduleStore
from signalight.domain.assets import StreetClass
from signalight.domain.assignments import Assignment, CalendarEntry, Override, Scope
from signalight.domain.cities import City
from signalight.domain.errors import ConflictError, NotFoundError
from signalight.domain.users import AuditAction
from tests.conftest import make_city
from tests.services.schedule_rig import NOW, add_lights, example

T0 = NOW.timestamp()


def _store(db: SqlDatabase) -> SqlScheduleStore:
    return SqlScheduleStore(db.engine, lambda: NOW)


def test_profiles_round_trip_and_names_are_unique_per_city(
    database: SqlDatabase, city: City
) -> None:
    store = _store(database)
    profile = example(off_windows=[{"from": "02:00", "until": "04:30"}])
    pid = store.add_profile(city.pk, profile, actor="ada")
    assert store.profiles(city.pk) == {pid: profile}
    with pytest.raises(ConflictError, match="residential"):
        store.add_profile(city.pk, example(), actor="ada")
    other = make_city(database)
    store.add_profile(other.pk, example(), actor="ada")  # another city may use the name
    store.replace_profile(city.pk, pid, example("quiet"), actor="ada")
    assert store.profiles(city.pk)[pid].name == "quiet"
    with pytest.raises(NotFoundError):
        store.replace_profile(other.pk, pid, example("x"), actor="ada")


def test_every_change_moves_the_revision_and_is_audited(database: SqlDatabase, city: City) -> None:
    store = _store(database)
    assert store.revision(city.pk) == 0
    pid = store.add_profile(city.pk, example(), actor="ada")
    aid = store.add_assignment(
        city.pk, Assignment(0, Scope.STREET_CLASS, "local", pid, frozenset({4, 5})), actor="ada"
    )
    cid = store.add_calendar_entry(
        city.pk,
        CalendarEntry(0, "Hari Raya", date(2026, 3, 20), date(2026, 3, 21), Scope.CITY, "", pid),
        actor="ada",
    )
    oid = store.add_override(
        city.pk, Override(0, Scope.CITY, "", 100, T0, T0 + 3600, "storm", "otto")
    )
    store.end_override(city.pk, oid, at=T0 + 60, actor="otto")
    store.delete_assignment(city.pk, aid, actor="ada")
    store.delete_calendar_entry(city.pk, cid, actor="ada")
    store.delete_profile(city.pk, pid, actor="ada")
    assert store.revision(city.pk) == 8
    entries = database.users.audit(city.pk, 20)
    assert [e.action for e in entries[:8]] == [
        AuditAction.PROFILE_REMOVED,
        AuditAction.CALENDAR_REMOVED,
        AuditAction.ASSIGNMENT_REMOVED,
        AuditAction.OVERRIDE_ENDED,
        AuditAction.OVERRIDE_ADDED,
        AuditAction.CALENDAR_ADDED,
        AuditAction.ASSIGNMENT_ADDED,
        AuditAction.PROFILE_ADDED,
    ]
    assert entries[6].target == "street_class local"
    assert entries[6].detail == f"assignment {aid}: profile 'residential', weekdays 4,5"
    assert entries[4].actor == "otto"
    assert "storm" in entries[4].detail


def test_a_profile_in_use_cannot_go(database: SqlDatabase, city: City) -> None:
    store = _store(database)
    pid = store.add_profile(city.pk, example(), actor="ada")
    aid = store.add_assignment(city.pk, Assignment(0, Scope.CITY, "", pid), actor="ada")
    with pytest.raises(ConflictError, match="in use by 1 assignment"):
        store.delete_profile(city.pk, pid, actor="ada")
    assert store.revision(city.pk) == 2  # the refused change moved nothing
    store.delete_assignment(city.pk, aid, actor="ada")
    store.delete_profile(city.pk, pid, actor="ada")
    assert store.profiles(city.pk) == {}


def test_overrides_expire_and_end_once(database: SqlDatabase, city: City) -> None:
    store = _store(database)
    oid = store.add_override(
        city.pk, Override(0, Scope.ASSET, "P-1", 0, T0, T0 + 7200, "works", "otto")
    )
    assert [o.id for o in store.overrides(city.pk, since=T0 + 7199)] == [oid]
    assert store.overrides(city.pk, since=T0 + 7200) == []
    ended = store.end_override(city.pk, oid, at=T0 + 600, actor="otto")
    assert ended.expires == T0 + 600
    again = store.end_override(city.pk, oid, at=T0 + 900, actor="otto")
    assert again.expires == T0 + 600  # over already: nothing changes
    assert store.revision(city.pk) == 2
    with pytest.raises(NotFoundError):
        store.end_override(make_city(database).pk, oid, at=T0, actor="otto")


def test_city_schedules_and_isolation(database: SqlDatabase, city: City) -> None:
    store = _store(database)
    pid = store.add_profile(city.pk, example(), actor="ada")
    store.add_assignment(city.pk, Assignment(0, Scope.GROUP, "park", pid), actor="ada")
    other = make_city(database)
    assert store.assignments(other.pk) == []
    with pytest.raises(NotFoundError):
        store.add_assignment(other.pk, Assignment(0, Scope.CITY, "", pid), actor="ada")
    whole = store.city_schedules(city.pk, example("default"), since=T0)
    assert whole.profiles == {pid: example()}
    assert whole.keys_at(Scope.GROUP) == {"park"}


def test_the_light_directory_knows_keys_and_cabinets(database: SqlDatabase, city: City) -> None:
    [(light_id, code)] = add_lights(
        database, city, cabinet="CAB-9", group="park", street_class=StreetClass.LOCAL
    )
    lights = SqlLightDirectory(database.engine)
    found = lights.light(city.pk, code)
    assert found is not None
    assert found.id == light_id
    assert found.keys == (code, "park", "CAB-9", "local")
    assert found.rated_watts == 100.0
    assert [light.id for light in lights.lights(city.pk)] == [light_id]
    assert lights.has_key(city.pk, Scope.CABINET, "CAB-9")
    assert not lights.has_key(city.pk, Scope.ASSET, "CAB-9")  # a cabinet is no streetlight
    assert lights.has_key(city.pk, Scope.GROUP, "park")
    assert not lights.has_key(make_city(database).pk, Scope.GROUP, "park")
    assert lights.light(city.pk, "CAB-9") is None
