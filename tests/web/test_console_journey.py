"""The whole of issue 16's check in one journey, through the real pages and the real fault rules.

A city where it is night now; its ten nodes report over HTTP ingest with
their own credentials and the server's detection loop judges them. One lamp
goes dead: the detector raises ``lampFailure``; the operator sees it on the
map and the board, makes a work order in one step and gives it to carl;
carl, on his phone, starts and finishes it with a lamp, and the order stays
"not confirmed" while the lamp is reported dead. The node then reports the
lamp burning: the detector clears the alarm, the repairs hook closes it for
the order and confirms the repair, and the home page's figures recover.
Each step is kept as a screenshot ``journey-NN-*`` in the test output.
"""

from __future__ import annotations

import base64
import re
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import orjson
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from signalight.adapters.mosquitto import hash_password
from signalight.domain.faults import DetectionSettings
from signalight.domain.sun import SunTable
from signalight.services.credentials import CredentialService
from tests.web.console_rig import (
    PHONE,
    ConsoleSite,
    assert_accessible,
    console_site,
    new_page,
    page_errors,
    sign_in,
    snap,
)

pytestmark = pytest.mark.browser

LIVE_MS = 15_000  # an alarm step goes through the store, the stream's poll and the page
MAP = (".maplibregl-canvas-container",)  # pixels axe cannot read; the map's controls are checked
RULES = DetectionSettings()  # the city keeps the default thresholds
INTERVAL_S = 300.0  # how often a node reports (the detector's default for a streetlight node)
RATED_W = 60.0  # the rig's lights; no luminaire set, so the LED curve: 60 W expected at dim 100
FAILING = "SL-003"


class Night(NamedTuple):
    """The seeded site at night, its running detection, and each node's HTTP credentials."""

    site: ConsoleSite
    secrets: dict[str, str]  # device uid -> secret


def _place_at_night(now: float) -> dict[str, Any]:
    """On the equator where the sun's time is about 22:00, on the whole hours' zone there.

    At 22:00 the night's dimming (00:00-05:00 local) has not begun, so the
    schedule asks for 100 % and a lit lamp should draw its full rating.
    """
    hours = (now % 86_400) / 3_600
    lon = (22.0 - hours) * 15.0
    lon = (lon + 180.0) % 360.0 - 180.0  # into [-180, 180)
    lon = min(max(lon, -179.9), 179.9)  # the grid of lights stays on one side of the date line
    offset = round(lon / 15.0)
    zone = "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc zones' signs are inverted
    return {"lat": 0.0, "lon": lon, "timezone": zone}


def _assert_dark(place: dict[str, Any], start: float, end: float) -> None:
    """Skip unless the code's own sun table says the sun is down, margins included, throughout."""
    zone = ZoneInfo(place["timezone"])
    table = SunTable(zone)
    cell = table.cell(place["lat"], place["lon"])
    margin = RULES.sun_margin_s
    for t in (start - margin, (start + end) / 2, end + margin):
        day = datetime.fromtimestamp(t, zone).date()
        if not table.daylight(cell, day).is_night(t):
            pytest.skip(f"the sun is up at {place} at {datetime.fromtimestamp(t, zone)}")


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Night]:
    """The console over a city in the dark, its detection loop watching HTTP ingest."""
    now = time.time()
    place = _place_at_night(now)
    _assert_dark(place, now - 4 * INTERVAL_S, now + 1_800)
    with console_site(tmp_path_factory.mktemp("journey"), place=place) as site:
        credentials = CredentialService(
            site.container.db.assets, site.container.db.credentials, hash_password
        )
        issued = credentials.issue(site.city).issued
        loop = site.container.watch_ingest()
        assert loop is not None, "detection is on by default"
        try:
            yield Night(site, {c.device: c.password for c in issued})
        finally:
            loop.stop()


def _report(night: Night, code: str, at: float, *, power: float, on: bool = True) -> None:
    """The node of light ``code`` posts one SenML pack to ``/api/v1/ingest``, as a node does."""
    uid = f"node-{code.removeprefix('SL-')}"
    token = base64.b64encode(f"{night.site.city.slug}/{uid}:{night.secrets[uid]}".encode())
    pack = [
        {"bt": at, "n": "on", "vb": on},
        {"n": "dim", "u": "%", "v": 100.0},
        {"n": "power", "u": "W", "v": power},
        {"n": "voltage", "u": "V", "v": 231.0},
        {"n": "pf", "u": "/", "v": 0.96},
    ]
    request = urllib.request.Request(  # noqa: S310 - the test server's own http URL
        f"{night.site.base_url}/api/v1/ingest",
        data=orjson.dumps(pack),
        headers={
            "Authorization": f"Basic {token.decode()}",
            "Content-Type": "application/senml+json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - as above
        assert answer.status == 200
        body = orjson.loads(answer.read())
    assert body == {"readings": len(pack), "stored": len(pack)}, body


def _legend(page: Page, status: str) -> Locator:
    item = page.locator(".legend li").filter(has=page.locator(f'input[data-status="{status}"]'))
    return item.locator(".count")


def _figures(page: Page) -> dict[str, str]:
    """The home page's figures as shown."""
    names = ("working_share", "lights", "open_alarms", "mttr_hours", "work_orders_open")
    return {n: page.locator(f'[data-kpi="{n}"] .value').inner_text() for n in names}


def _percent(text: str) -> float:
    found = re.fullmatch(r"([\d.]+) %", text)
    assert found, text
    return float(found.group(1))


def _open_home(page: Page, site: ConsoleSite) -> None:
    page.locator("#nav").get_by_role("link", name="Home").click()
    expect(page.get_by_role("heading", name=site.city.name, level=1)).to_be_visible()


def test_a_dead_lamp_is_seen_ordered_repaired_and_confirmed_by_telemetry(
    night: Night, browser: Browser
) -> None:
    now = time.time()
    # Fifteen minutes of the ten nodes burning as they should, the last report five minutes ago.
    for back in (3, 2, 1):
        for n in range(10):
            _report(night, f"SL-{n:03d}", now - back * INTERVAL_S, power=RATED_W * 0.97)
    context, desk = new_page(browser)
    dead_at = _otto_sees_the_lamp_fail(night, desk)
    before = _home_before(desk, night.site)
    alarm_id, order_id = _otto_orders_it_for_carl(desk, night.site)
    _carl_works_it_on_his_phone(night, browser, order_id, dead_at)
    _otto_sees_it_confirmed(desk, night.site, order_id, alarm_id, before)
    assert page_errors(desk) == []
    context.close()


def _otto_sees_the_lamp_fail(night: Night, desk: Page) -> float:
    """Steps 1 and 2: the map with its statuses, then the dead lamp on it live; when it died."""
    site = night.site
    # 1. otto signs in to the map: ten lights working, none off by schedule (it is night).
    desk.goto(f"{site.base_url}/#/c/{site.city.slug}/map")
    expect(desk.get_by_role("heading", name="Sign in to Signalight")).to_be_visible()
    assert_accessible(desk)
    snap(desk, "journey-01-sign-in")
    sign_in(desk, site, "otto", f"/c/{site.city.slug}/map")
    expect(desk.locator("#mapbox")).to_have_attribute("data-ready", "true")
    expect(_legend(desk, "working")).to_have_attribute("data-count", "10")
    expect(_legend(desk, "off_by_schedule")).to_have_attribute("data-count", "0")
    expect(_legend(desk, "minor")).to_have_attribute("data-count", "0")
    assert_accessible(desk, exclude=MAP)
    snap(desk, "journey-02-map-all-working")

    # 2. SL-003's node says it is on at 100 % and draws next to nothing: the lamp is dead.
    dead_at = time.time() - 120
    _report(night, FAILING, dead_at, power=0.4)
    expect(_legend(desk, "minor")).to_have_attribute("data-count", "1", timeout=LIVE_MS)
    expect(_legend(desk, "working")).to_have_attribute("data-count", "9")
    desk.get_by_label("Find by code").fill(FAILING)
    desk.get_by_label("Find by code").press("Enter")
    popup = desk.locator(".maplibregl-popup")
    expect(popup).to_contain_text(FAILING)
    expect(popup).to_contain_text("Alarm: minor")
    expect(popup).to_contain_text("lampFailure")
    snap(desk, "journey-03-map-alarm")
    return dead_at


def _home_before(desk: Page, site: ConsoleSite) -> dict[str, str]:
    """Step 3: the home page before the repair: nine of a hundred lights work, one lamp failure."""
    _open_home(desk, site)
    expect(desk.locator('[data-kpi="working_share"] .value')).to_have_text("9.0 %")
    before = _figures(desk)
    assert before["working_share"] == "9.0 %", before
    assert before["open_alarms"] == "1", before
    assert before["mttr_hours"] == "\u2013", before  # nothing repaired yet
    faults = desk.get_by_role("table", name="Open faults by type")
    expect(faults.locator('tr[data-type="lampFailure"]')).to_have_text("Lamp failure1")
    assert_accessible(desk)
    snap(desk, "journey-04-home-before")
    return before


def _otto_orders_it_for_carl(desk: Page, site: ConsoleSite) -> tuple[int, int]:
    """Steps 4 and 5: the board, an order in one step, given to carl; the alarm and order ids."""
    # 4. The alarms board: the detector's alarm, and a work order from it in one step.
    desk.locator("#nav").get_by_role("link", name="Alarms").click()
    expect(desk.get_by_role("heading", name="Alarms", level=1)).to_be_visible()
    row = desk.locator(".alarms tbody tr[data-alarm]").filter(has_text=FAILING)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Lamp failure")
    expect(row.locator(".badge")).to_have_text("Minor")
    expect(row).to_have_attribute("data-state", "raised")
    alarm_id = int(row.get_attribute("data-alarm") or "0")
    assert_accessible(desk)
    snap(desk, "journey-05-board")
    row.get_by_role("button", name="Work order").click()
    desk.wait_for_url(f"{site.base_url}/#/c/{site.city.slug}/work-orders/*")
    order_id = int(desk.url.rsplit("/", 1)[1])
    expect(desk.get_by_role("heading", level=1)).to_contain_text(f"Work order #{order_id}")
    expect(desk.locator("#wo-state")).to_have_text("Open")
    expect(desk.locator("#wo-alarms li")).to_contain_text("raised")
    snap(desk, "journey-06-order-open")

    # 5. Assigned to carl on the order's page.
    desk.get_by_label("Crew member (username)").fill("carl")
    desk.get_by_role("button", name="Assign").click()
    expect(desk.locator("#wo-crew")).to_have_text("carl")
    expect(desk.locator("#wo-state")).to_have_text("Assigned")
    assert_accessible(desk)
    snap(desk, "journey-07-order-assigned")
    return alarm_id, order_id


def _otto_sees_it_confirmed(
    desk: Page, site: ConsoleSite, order_id: int, alarm_id: int, before: dict[str, str]
) -> None:
    """Steps 10 and 11: the order confirmed on otto's page, and the home page's figures better."""
    # 10. The order's page follows: closed, confirmed, its alarm closed by the order.
    expect(desk.locator(".outcome")).to_have_text("Closed, confirmed", timeout=LIVE_MS)
    alarm_line = desk.locator("#wo-alarms li")
    expect(alarm_line).to_contain_text("closed")
    expect(alarm_line).to_contain_text(f"closed by work-order {order_id}")
    expect(desk.locator("#wo-parts")).to_have_text("lamp \N{MULTIPLICATION SIGN} 1")
    assert_accessible(desk)
    snap(desk, "journey-12-order-confirmed")

    # 11. The home page after the repair: the share working up, no open fault, a repair time.
    _open_home(desk, site)
    expect(desk.locator('[data-kpi="working_share"] .value')).to_have_text("10.0 %")
    expect(desk.get_by_text("No open fault.")).to_be_visible()
    after = _figures(desk)
    assert _percent(after["working_share"]) > _percent(before["working_share"]), (before, after)
    assert int(after["open_alarms"]) < int(before["open_alarms"]), (before, after)
    assert after["mttr_hours"] != "\u2013", after
    assert_accessible(desk)
    snap(desk, "journey-13-home-after")

    # The record behind the pages: the detector's alarm, closed for the order, the repair confirmed.
    answer = desk.request.get(f"{site.base_url}/api/v1/cities/{site.city.slug}/alarms/{alarm_id}")
    alarm = answer.json()
    assert (alarm["state"], alarm["closed_by"]) == ("closed", f"work-order {order_id}"), alarm
    steps = [(e["kind"], e["actor"]) for e in alarm["events"]]
    assert steps == [("raised", None), ("cleared", None), ("closed", f"work-order {order_id}")]


def _carl_works_it_on_his_phone(
    night: Night, browser: Browser, order_id: int, dead_at: float
) -> None:
    """Steps 6 to 9: carl finishes the order while the lamp is dead; the node reports it lit."""
    site = night.site
    # 6. carl signs in on his phone and opens his orders from the menu.
    context, phone = new_page(browser, PHONE)
    sign_in(phone, site, "carl", f"/c/{site.city.slug}")
    phone.locator("#nav").get_by_role("link", name="My orders").click()
    expect(phone.get_by_role("heading", name="My work orders", level=1)).to_be_visible()
    card = phone.locator(f'li.crewcard[data-order="{order_id}"]')
    expect(card).to_contain_text("Assigned")
    expect(card).to_contain_text(FAILING)
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(phone, exclude=MAP)
    snap(phone, "journey-08-crew-list")
    # 7. He starts it and finishes it with a lamp.
    card.get_by_role("button", name="Start").click()
    expect(card).to_contain_text("In progress")
    snap(phone, "journey-09-crew-started")
    card.get_by_role("button", name="Finish").click()
    card.get_by_label("Lamp").fill("1")
    card.get_by_role("button", name="Finish the job").click()
    # The crew's word is not enough: the node still reports the lamp dead.
    expect(card.locator(".outcome")).to_have_text(
        "Closed, not confirmed: waiting for the telemetry to show the fault gone"
    )
    assert_accessible(phone, exclude=MAP)
    snap(phone, "journey-10-crew-finished-not-confirmed")

    # 8. The new lamp burns: the node reports it, clear_reports times, a little apart.
    reports = RULES.clear_reports
    last = time.time() - 2
    step = min(60.0, (last - dead_at) / (reports + 1))
    for k in range(reports):
        _report(night, FAILING, last - (reports - 1 - k) * step, power=RATED_W * 0.97)
    # 9. His order's page: confirmed by the telemetry.
    link = card.get_by_role("link", name=re.compile(rf"#{order_id}\b"))
    link.click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text(f"Work order #{order_id}")
    expect(phone.locator(".outcome")).to_have_text("Closed, confirmed", timeout=LIVE_MS)
    expect(phone.locator("#wo-alarms li")).to_contain_text(f"closed by work-order {order_id}")
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(phone)
    snap(phone, "journey-11-crew-sees-confirmed")
    assert page_errors(phone) == []
    context.close()
