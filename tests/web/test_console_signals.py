"""The console's traffic-signals pages in a real headless Chromium, on a real server.

The monitors' readings go through the real ingest service (as the HTTP
ingest stores them): one intersection in flash with its cabinet door open,
one running normally with phases 2 and 6 green, one with no monitor.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from playwright.sync_api import Browser, Page, expect

from signalight.domain.alarms import AlarmType, Severity
from signalight.domain.assets import AssetKind, AssetQuery, AssetRecord
from signalight.domain.telemetry import DeadLetter
from tests.web.console_rig import (
    ConsoleSite,
    assert_accessible,
    console_site,
    new_page,
    page_errors,
    sign_in,
    snap,
)

pytestmark = pytest.mark.browser

FLASH, NORMAL, UNMONITORED = "X-100", "X-200", "X-300"
PHONE_NARROW = {"width": 360, "height": 740}


def _intersections() -> list[AssetRecord]:
    common = {"phases": (2, 4, 6, 8), "controller_vendor": "Econolite"}
    return [
        AssetRecord(
            kind=AssetKind.INTERSECTION,
            code=FLASH,
            name="Jalan Baru / Jalan Raja Uda",
            lat=5.381,
            lon=100.401,
            cabinet="CAB-1",
            controller_id="10.0.0.7",
            device="sm-100",
            **common,  # type: ignore[arg-type]
        ),
        AssetRecord(
            kind=AssetKind.INTERSECTION,
            code=NORMAL,
            name="Lebuh Chulia / Jalan Pinang",
            lat=5.382,
            lon=100.402,
            controller_id="10.0.0.8",
            device="sm-200",
            **common,  # type: ignore[arg-type]
        ),
        AssetRecord(kind=AssetKind.INTERSECTION, code=UNMONITORED, lat=5.383, lon=100.403),
    ]


def send(site: ConsoleSite, uid: str, records: list[dict[str, object]]) -> None:
    """Store a monitor's SenML pack through the ingest service, as the HTTP ingest does."""
    device = site.container.db.telemetry.find_device(site.city.slug, uid)
    assert device is not None
    outcome = site.container.ingest.check_from(
        device, orjson.dumps(records), time.time(), "http:/api/v1/ingest"
    )
    assert not isinstance(outcome, DeadLetter), outcome
    site.container.ingest.write([outcome], [])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSite]:
    """The seeded console with three intersections, two of them reporting, and X-100's alarms."""
    with console_site(tmp_path_factory.mktemp("signals")) as running:
        db = running.container.db
        db.assets.upsert_assets(running.city.pk, _intersections())
        query = AssetQuery(kind=AssetKind.INTERSECTION, limit=10)
        running.assets.update(
            {a.code: a.id for a in db.assets.query_assets(running.city.pk, query).items}
        )
        at = time.time() - 20
        send(
            running,
            "sm-100",
            [
                {"bn": "sm-100/", "bt": at, "n": "mode", "vs": "flash"},
                {"n": "door", "vs": "open"},
                {"n": "mmu", "vs": "ok"},
                {"n": "mains", "vb": True},
                {"n": "battery", "v": 26.8},
                *({"n": f"lamp/{p}/red", "v": 0.18} for p in (2, 4, 6, 8)),
                {"n": "event", "t": -8, "v": 173, "vs": "1"},
                {"n": "event", "t": -9, "v": 10, "vs": "2"},
            ],
        )
        send(
            running,
            "sm-200",
            [
                {"bn": "sm-200/", "bt": at, "n": "mode", "vs": "normal"},
                {"n": "door", "vs": "closed"},
                {"n": "mmu", "vs": "ok"},
                {"n": "mains", "vb": True},
                {"n": "battery", "v": 27.1},
                {"n": "lamp/2/green", "v": 0.36},
                {"n": "lamp/6/green", "v": 0.24},
                {"n": "lamp/4/red", "v": 0.3},
                {"n": "lamp/8/red", "v": 0.31},
                {"n": "event", "t": -5, "v": 1, "vs": "2"},
                {"n": "event", "t": -5, "v": 1, "vs": "6"},
                {"n": "event", "t": -12, "v": 10, "vs": "4"},
            ],
        )
        running.alarm(
            FLASH, AlarmType.SIGNAL_FLASH, Severity.CRITICAL, at=at, message="controller in flash"
        )
        running.alarm(
            FLASH,
            AlarmType.DOOR_OPEN_UNAUTHORISED,
            Severity.CRITICAL,
            at=at,
            message="cabinet door opened with no maintenance window",
        )
        yield running


def open_list(page: Page, site: ConsoleSite) -> None:
    page.goto(f"{site.base_url}/#/c/{site.city.slug}/signals")
    expect(page.get_by_role("heading", name="Traffic signals", level=1)).to_be_visible()
    expect(page.locator("#signals-list li[data-code]")).to_have_count(3)


def test_the_list_puts_the_intersection_in_flash_first_and_says_what_each_does(
    site: ConsoleSite, browser: Browser
) -> None:
    context, page = new_page(browser)
    sign_in(page, site, "otto", f"/c/{site.city.slug}")
    page.locator("#nav").get_by_role("link", name="Signals").click()
    open_list(page, site)
    cards = page.locator("#signals-list li[data-code]")
    assert cards.evaluate_all("(cards) => cards.map((c) => c.dataset.code)") == [
        FLASH,
        NORMAL,
        UNMONITORED,
    ]
    flash = page.locator(f'li[data-code="{FLASH}"]')
    expect(flash.locator(".badge")).to_have_text("Flash, Door open")
    expect(flash.locator(".badge")).to_have_attribute("data-status", "critical")
    expect(flash.locator(".signow")).to_have_text("in flash, door open")
    expect(flash.locator(".sigalarms")).to_have_text("2")
    expect(flash.locator(".siggreen")).to_have_text("none")
    normal = page.locator(f'li[data-code="{NORMAL}"]')
    expect(normal.locator(".badge")).to_have_text("Normal")
    expect(normal.locator(".badge")).to_have_attribute("data-status", "working")
    expect(normal.locator(".signow")).to_have_text("normal: phases 2 and 6 green")
    expect(normal.locator(".siggreen")).to_have_text("2 and 6")
    expect(page.locator(f'li[data-code="{UNMONITORED}"] .badge')).to_have_text("No monitor")
    expect(page.locator("#signals-count")).to_have_text(
        "3 intersections: 1 with a problem, 3 shown."
    )
    assert_accessible(page)
    snap(page, "signals-01-list")

    # Filtered to the problems, then searched by name; sorted by code.
    page.get_by_label("Show").select_option("problem")
    expect(cards).to_have_count(1)
    page.get_by_label("Show").select_option("all")
    page.get_by_label("Code or name").fill("chulia")
    expect(cards).to_have_count(1)
    expect(cards.first).to_have_attribute("data-code", NORMAL)
    page.get_by_label("Code or name").fill("")
    page.get_by_label("Order").select_option("code")
    expect(cards.first).to_have_attribute("data-code", FLASH)
    expect(cards.last).to_have_attribute("data-code", UNMONITORED)

    # Live: a new alarm on the normal one shows without a reload.
    site.alarm(
        NORMAL,
        AlarmType.RED_LAMP_FAILURE,
        Severity.MAJOR,
        at=time.time(),
        message="red of phase 4 draws nothing",
    )
    expect(normal.locator(".badge")).to_have_attribute("data-status", "major", timeout=15_000)
    expect(normal.locator(".badge")).to_have_text("Normal, alarm open")
    expect(normal.locator(".sigalarms")).to_have_text("1")
    assert page_errors(page) == []
    context.close()


def test_an_operator_reads_an_intersection_its_open_door_a_break_in_and_its_events_live(
    site: ConsoleSite, browser: Browser
) -> None:
    context, page = new_page(browser)
    sign_in(page, site, "otto", f"/c/{site.city.slug}/signals")
    page.get_by_role("link", name=FLASH, exact=True).click()
    expect(page.get_by_role("heading", name=f"Intersection {FLASH}", level=1)).to_be_visible()
    door = page.locator("#signal-door")
    expect(door).to_have_attribute("data-door", "breakin")
    expect(door).to_contain_text("Door open: NOT authorised")
    expect(door).to_contain_text("cabinet door opened with no maintenance window")
    expect(page.locator("#signal-now")).to_have_text("in flash, door open")
    heads = page.locator("#signal-lamps .sighead")
    expect(heads).to_have_count(4)
    expect(heads.first).to_have_attribute("data-lit", "red")
    expect(heads.first.get_by_role("list")).to_have_accessible_name("Phase 2: red lit")
    expect(heads.first.locator(".lamp-red")).to_have_text("Red, lit: 0.18 A")
    expect(page.locator("#signal-alarms li")).to_have_count(2)
    alarm_link = page.locator("#signal-alarms li a").first
    expect(alarm_link).to_have_attribute(
        "href", f"#/c/{site.city.slug}/assets/{site.assets[FLASH]}"
    )
    events = page.locator("#signal-events tbody tr")
    expect(events).to_have_count(2)
    expect(events.first).to_contain_text("173")
    expect(page.locator("#signal-events caption")).to_contain_text("Asia/Kuala_Lumpur")
    expect(page.locator("#signal-windows")).to_have_text("No window is open now or coming.")
    assert_accessible(page)
    snap(page, "signals-02-flash-unauthorised")

    # The controller logs on: the events follow within the page's 5 s read.
    send(site, "sm-100", [{"bn": "sm-100/", "bt": time.time(), "n": "event", "v": 1, "vs": "4"}])
    expect(events).to_have_count(3, timeout=12_000)
    expect(events.first).to_contain_text("phase 4 green")
    assert page_errors(page) == []
    context.close()


def test_an_operator_opens_a_window_that_authorises_the_door_then_ends_it(
    site: ConsoleSite, browser: Browser
) -> None:
    context, page = new_page(browser)
    sign_in(page, site, "otto", f"/c/{site.city.slug}/signals/{FLASH}")
    door = page.locator("#signal-door")
    expect(door).to_have_attribute("data-door", "breakin")

    # A window for carl from now: listed, and the open door is authorised.
    expect(page.get_by_label("Who will open the door").locator("option")).to_have_count(5)
    page.get_by_label("Who will open the door").select_option("carl")
    page.get_by_label("Why").fill("replace the red lamp of phase 4")
    page.get_by_role("button", name="Open the window").click()
    windows = page.locator("#signal-windows li[data-window]")
    expect(windows).to_have_count(1)
    expect(windows.first).to_have_attribute("data-active", "true")
    expect(windows.first).to_contain_text("Active now")
    expect(windows.first).to_contain_text("carl")
    expect(page.locator("#signal-windows")).not_to_contain_text("null")
    expect(door).to_have_attribute("data-door", "authorised")
    expect(door).to_contain_text(
        re.compile(r"Door open: authorised by maintenance window \d+ \(crew carl: ")
    )
    # The earlier break-in alarm is still there to be dealt with.
    expect(door).to_contain_text("is still open")
    assert_accessible(page)
    snap(page, "signals-03-window-authorised")

    # Ended early: the door is a break-in again.
    page.get_by_role("button", name=re.compile(r"End #\d+ now")).click()
    expect(page.get_by_text("No window is open now or coming.")).to_be_visible()
    expect(page.get_by_text("1 window is over and not shown.")).to_be_visible()
    expect(door).to_have_attribute("data-door", "breakin")

    # The asset page and the signal's page lead to each other.
    page.get_by_role("link", name="Asset page").click()
    expect(page).to_have_url(f"{site.base_url}/#/c/{site.city.slug}/assets/{site.assets[FLASH]}")
    page.get_by_role("link", name="Its signals: state, lamps, events, door").click()
    expect(page).to_have_url(f"{site.base_url}/#/c/{site.city.slug}/signals/{FLASH}")
    expect(door).to_have_attribute("data-door", "breakin")
    assert page_errors(page) == []
    context.close()


def test_a_viewer_reads_without_a_form_and_a_crew_member_sees_their_window(
    site: ConsoleSite, browser: Browser
) -> None:
    operator, _ = site.container.db.users.get_user("otto")
    start = datetime.now(UTC) + timedelta(hours=1)
    for who in ("cora", "carl"):
        site.container.windows.open(
            site.city,
            operator,
            NORMAL,
            start,
            start + timedelta(hours=1),
            who=who,
            why=f"visit of {who}",
        )
    context, page = new_page(browser)
    sign_in(page, site, "vera", f"/c/{site.city.slug}/signals/{NORMAL}")
    expect(page.locator("#signal-door")).to_have_attribute("data-door", "closed")
    expect(page.locator("#signal-lamps .sighead")).to_have_count(4)
    expect(page.locator('#signal-lamps .sighead[data-lit="green"]')).to_have_count(2)
    windows = page.locator("#signal-windows li[data-window]")
    expect(windows).to_have_count(2)
    expect(windows.first).to_contain_text("Upcoming")
    expect(page.get_by_role("button", name="Open the window")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile(r"End #\d+ now"))).to_have_count(0)
    assert_accessible(page)
    snap(page, "signals-04-viewer")
    page.goto(f"{site.base_url}/#/c/{site.city.slug}/signals/NOPE")
    expect(page.get_by_role("heading", name="No such intersection", level=1)).to_be_visible()
    context.close()

    context, page = new_page(browser)
    sign_in(page, site, "carl", f"/c/{site.city.slug}/signals/{NORMAL}")
    expect(windows := page.locator("#signal-windows li[data-window]")).to_have_count(1)
    expect(windows.first).to_contain_text("visit of carl")
    expect(page.get_by_role("button", name=re.compile(r"End #\d+ now"))).to_have_count(1)
    expect(page.get_by_role("button", name="Open the window")).to_have_count(0)
    assert page_errors(page) == []
    context.close()


def test_the_list_fits_a_360_px_phone(site: ConsoleSite, browser: Browser) -> None:
    context, page = new_page(browser, PHONE_NARROW)
    sign_in(page, site, "otto", f"/c/{site.city.slug}/signals")
    open_list(page, site)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE_NARROW["width"]
    expect(page.get_by_role("link", name=FLASH, exact=True)).to_be_in_viewport()
    assert_accessible(page)
    snap(page, "signals-05-phone")
    page.get_by_role("link", name=FLASH, exact=True).click()
    expect(page.locator("#signal-lamps .sighead")).to_have_count(4)
    expect(page.locator("#signal-windows")).to_contain_text("No window is open now or coming.")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE_NARROW["width"]
    snap(page, "signals-06-phone-intersection")
    assert page_errors(page) == []
    context.close()
