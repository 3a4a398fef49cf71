"""GET /cities/{city}/map and /kpis: every asset's live status, the figures, tenants apart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from signalight.adapters.clock import ManualClock
from signalight.adapters.sql.database import SqlDatabase
from signalight.api.app import create_app
from signalight.container import Container
from signalight.domain.alarms import Alarm, AlarmType, EventKind, Severity
from signalight.domain.assets import AssetKind, AssetQuery, AssetRecord
from signalight.domain.cities import City
from signalight.domain.users import Role
from signalight.services.city_status import SNAPSHOT_FRESH_S
from signalight.settings import Settings
from tests.conftest import bearer, make_city, make_token
from tests.status_rig import EXPECTED, NOW, build

FIELDS = [
    "id",
    "kind",
    "code",
    "lon",
    "lat",
    "status",
    "severity",
    "alarm_types",
    "cabinet",
    "street_class",
]


@pytest.fixture
def at_night(settings: Settings, database: SqlDatabase) -> Container:
    """A container whose clock stands at the rig's NOW."""
    return Container(settings, database, clock=ManualClock(NOW))


@pytest.fixture
def night_client(at_night: Container) -> Iterator[TestClient]:
    with TestClient(create_app(at_night)) as test_client:
        yield test_client


def test_the_map_shows_every_asset_with_its_status(
    night_client: TestClient, at_night: Container, database: SqlDatabase, city: City
) -> None:
    rig = build(database, city)
    token = make_token(at_night, city, Role.VIEWER)
    response = night_client.get(f"/api/v1/cities/{city.slug}/map", headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["fields"] == FIELDS
    assert body["as_of"].startswith("2024-06-01T16:00:00")
    rows = [dict(zip(FIELDS, row, strict=True)) for row in body["rows"]]
    assert {r["code"]: (r["status"], r["severity"], r["alarm_types"]) for r in rows} == EXPECTED
    ok = next(r for r in rows if r["code"] == "SL-OK")
    assert ok["id"] == rig.ids["SL-OK"]
    assert (ok["kind"], ok["cabinet"], ok["street_class"]) == ("streetlight", "CAB-1", "local")


def test_the_map_filters_by_kind_and_bbox(
    night_client: TestClient, at_night: Container, database: SqlDatabase, city: City
) -> None:
    build(database, city)
    headers = bearer(make_token(at_night, city, Role.VIEWER))
    url = f"/api/v1/cities/{city.slug}/map"
    cabinets = night_client.get(url, params={"kind": "cabinet"}, headers=headers).json()
    assert [row[2] for row in cabinets["rows"]] == ["CAB-1"]
    west = night_client.get(url, params={"bbox": "100.0,5.0,100.4005,6.0"}, headers=headers)
    assert [row[2] for row in west.json()["rows"]] == ["CAB-1"]
    assert night_client.get(url, params={"bbox": "1,2"}, headers=headers).status_code == 422


def test_a_large_map_is_sent_gzip_compressed(
    night_client: TestClient, at_night: Container, database: SqlDatabase, city: City
) -> None:
    database.assets.upsert_assets(
        city.pk,
        [
            AssetRecord(kind=AssetKind.STREETLIGHT, code=f"SL-{n}", lat=5.38, lon=100.4 + n / 1e4)
            for n in range(40)
        ],
    )
    response = night_client.get(
        f"/api/v1/cities/{city.slug}/map",
        headers={**bearer(make_token(at_night, city, Role.VIEWER)), "Accept-Encoding": "gzip"},
    )
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) < len(response.content) / 3
    assert len(response.json()["rows"]) == 40


def test_kpis_from_known_alarms_and_repairs(
    night_client: TestClient, at_night: Container, database: SqlDatabase, city: City
) -> None:
    build(database, city)
    token = make_token(at_night, city, Role.VIEWER)
    response = night_client.get(f"/api/v1/cities/{city.slug}/kpis", headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.pop("as_of").startswith("2024-06-01T16:00:00")
    assert body == {
        "lights": 6,  # OK, SILENT, NEVER, NODEV, ALARM, HELD: in service
        "working": 1,
        "working_share": pytest.approx(1 / 6),
        "open_faults_by_type": {"lampFailure": 1, "orientationChanged": 1, "supplyLoss": 1},
        "open_alarms": 3,  # the held lamp failure is under the outage, not counted
        "mttr_hours": pytest.approx(2.0),
        "work_orders_open": 0,
        "work_orders_past_due": 0,
    }


def test_an_empty_city_has_zero_figures_and_no_mttr(
    night_client: TestClient, at_night: Container, city: City
) -> None:
    token = make_token(at_night, city, Role.VIEWER)
    body = night_client.get(f"/api/v1/cities/{city.slug}/kpis", headers=bearer(token)).json()
    assert (body["lights"], body["working_share"], body["mttr_hours"]) == (0, 0.0, None)
    rows = night_client.get(f"/api/v1/cities/{city.slug}/map", headers=bearer(token)).json()
    assert rows["rows"] == []


def test_another_citys_assets_never_show_and_its_map_is_refused(
    night_client: TestClient, at_night: Container, database: SqlDatabase, city: City
) -> None:
    build(database, city)
    other = make_city(database)
    theirs = build(database, other)
    headers = bearer(make_token(at_night, city, Role.VIEWER))
    rows = night_client.get(f"/api/v1/cities/{city.slug}/map", headers=headers).json()["rows"]
    assert not {row[0] for row in rows} & set(theirs.ids.values())
    for path in ("map", "kpis"):
        refused = night_client.get(f"/api/v1/cities/{other.slug}/{path}", headers=headers)
        assert refused.status_code == 403
        assert night_client.get(f"/api/v1/cities/{other.slug}/{path}").status_code == 401


def test_a_snapshot_is_shared_until_alarms_inventory_or_time_move_on(
    night_client: TestClient, at_night: Container, database: SqlDatabase, city: City
) -> None:
    build(database, city)
    headers = bearer(make_token(at_night, city, Role.VIEWER))
    url = f"/api/v1/cities/{city.slug}/map"
    clock = at_night.clock
    assert isinstance(clock, ManualClock)

    def statuses() -> tuple[str, dict[str, str]]:
        body = night_client.get(url, headers=headers).json()
        return body["as_of"], {row[2]: row[5] for row in body["rows"]}

    first, before = statuses()
    clock.advance(timedelta(seconds=1))
    assert statuses()[0] == first  # nothing changed: the same snapshot, saying when it was made

    ok = "SL-OK"
    assert before[ok] == "working"
    added = at_night.db.assets.upsert_assets(
        city.pk,
        [AssetRecord(kind=AssetKind.STREETLIGHT, code="SL-NEW", lat=city.lat, lon=city.lon)],
    )
    assert added.inserted == 1
    as_of, after = statuses()  # an inventory change: judged again at once
    assert as_of != first
    assert after["SL-NEW"] == "unknown"

    alarm = Alarm(
        city_id=city.pk,
        type=AlarmType.LAMP_FAILURE,
        severity=Severity.MAJOR,
        asset_id=next(
            a.id for a in at_night.db.assets.query_assets(city.pk, AssetQuery(code=ok)).items
        ),
        raised_at=NOW.timestamp(),
        observed_at=NOW.timestamp(),
        updated_at=NOW.timestamp(),
        message="dark",
        detail={},
    )
    at_night.db.alarms.record([(alarm, EventKind.RAISED, NOW.timestamp())])
    assert statuses()[1][ok] == "alarm"  # an alarm event: judged again at once
    at_night.db.alarms.record([(alarm, EventKind.CLEARED, NOW.timestamp() + 1)])
    as_of, cleared = statuses()  # brought up to date from the kept one: the light alone
    assert cleared[ok] == "working"
    assert {code: status for code, status in cleared.items() if code != ok} == {
        code: status for code, status in after.items() if code != ok
    }

    kept_as_of = statuses()[0]
    clock.advance(timedelta(seconds=SNAPSHOT_FRESH_S))
    assert statuses()[0] != kept_as_of  # and the clock renews it within the window
