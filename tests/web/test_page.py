"""The inventory page in a real headless Chromium, against a real server on a SQLite database."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    Request,
    ViewportSize,
    expect,
)

from signalight.adapters.sql.database import SqlDatabase
from signalight.container import Container
from signalight.domain.assets import AssetKind, AssetRecord, LuminaireType, StreetClass
from signalight.domain.cities import City
from signalight.domain.geo import offset
from signalight.domain.users import Role
from signalight.settings import Settings
from tests.conftest import make_city
from tests.web.browser import serve

pytestmark = pytest.mark.browser

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
SCREENSHOT = Path("/tmp/signalight-page.png")  # noqa: S108 - a fixed place to look at
SCREENSHOT_PHONE = Path("/tmp/signalight-page-phone.png")  # noqa: S108

LIGHT_COLUMNS, LIGHT_ROWS = 100, 60  # 6,000 streetlights: more than one page of 5,000
SPACING_M = 40.0
LIGHTS = LIGHT_COLUMNS * LIGHT_ROWS
TOTAL = LIGHTS + 2 + 3
KNOWN_LIGHT = "SL-03030"
KNOWN_INTERSECTION = "INT-2"
LUMINAIRES = [
    LuminaireType.LED,
    LuminaireType.LED,
    LuminaireType.LED,
    LuminaireType.HPS,
    LuminaireType.METAL_HALIDE,
    LuminaireType.FLUORESCENT,
    None,
]
TIMEOUT_MS = 20_000
# Keeps every text the status line shows, so that passing progress messages can be checked.
STATUS_LOG = """
window.statusLog = [];
document.addEventListener("DOMContentLoaded", () => {
  const status = document.getElementById("status");
  new MutationObserver(() => window.statusLog.push(status.textContent)).observe(status, {
    childList: true,
    characterData: true,
    subtree: true,
  });
});
"""


@dataclass(frozen=True)
class Site:
    """The running server and what the test put in it."""

    base_url: str
    token: str
    city: City
    hidden: City


def _inventory(city: City) -> list[AssetRecord]:
    """Two cabinets, a grid of 6,000 streetlights and three intersections around the centre."""
    records = [
        AssetRecord(
            kind=AssetKind.CABINET,
            code=f"CAB-{n}",
            lat=lat,
            lon=lon,
            street="Jalan Perusahaan",
        )
        for n, (lat, lon) in enumerate(
            [offset(city.lat, city.lon, 300, -900), offset(city.lat, city.lon, -300, 900)], 1
        )
    ]
    for row in range(LIGHT_ROWS):
        for column in range(LIGHT_COLUMNS):
            n = row * LIGHT_COLUMNS + column
            lat, lon = offset(
                city.lat,
                city.lon,
                (row - LIGHT_ROWS / 2) * SPACING_M,
                (column - LIGHT_COLUMNS / 2) * SPACING_M,
            )
            code = f"SL-{n:05d}"
            known = code == KNOWN_LIGHT
            luminaire = LuminaireType.HPS if known else LUMINAIRES[n % len(LUMINAIRES)]
            records.append(
                AssetRecord(
                    kind=AssetKind.STREETLIGHT,
                    code=code,
                    lat=lat,
                    lon=lon,
                    street=f"Jalan {row + 1}",
                    street_class=StreetClass.COLLECTOR if row % 10 == 0 else StreetClass.LOCAL,
                    cabinet="CAB-1" if column < LIGHT_COLUMNS / 2 else "CAB-2",
                    luminaire=luminaire,
                    rated_watts=150.0 if known else 60.0,
                    device="node-3030" if known else None,
                )
            )
    # Half a spacing off the grid, so that no light is drawn on top of an intersection.
    for n in range(1, 4):
        lat, lon = offset(
            city.lat, city.lon, (n - 2) * 500 + SPACING_M / 2, (n - 2) * 700 + SPACING_M / 2
        )
        records.append(
            AssetRecord(
                kind=AssetKind.INTERSECTION,
                code=f"INT-{n}",
                lat=lat,
                lon=lon,
                street="Jalan Bagan Luar",
                controller_id=f"ctl-{n}",
            )
        )
    return records


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("web")
    url = f"sqlite:///{tmp / 'web.db'}"
    db = SqlDatabase.connect(url)
    db.migrate()
    container = Container(Settings(data_dir=tmp, database_url=url), db)
    city = make_city(db, name="Seberang Perai")
    hidden = make_city(db, name="Hidden Town", lat=1.35, lon=103.82)
    db.assets.upsert_assets(city.pk, _inventory(city))
    db.assets.upsert_assets(
        hidden.pk,
        [AssetRecord(kind=AssetKind.CABINET, code="HID-1", lat=hidden.lat, lon=hidden.lon)],
    )
    container.auth.add_user("web", None)
    container.auth.grant("web", city, Role.VIEWER)
    token = container.auth.issue_token("web")
    try:
        with serve(container) as base_url:
            yield Site(base_url, token, city, hidden)
    finally:
        db.close()


@dataclass
class Recorder:
    """What a page asked for and complained about."""

    requests: list[Request] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def api_requests(self, base_url: str) -> list[Request]:
        return [r for r in self.requests if r.url.startswith(f"{base_url}/api/")]

    def on_request(self, request: Request) -> None:
        self.requests.append(request)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def on_page_error(self, error: Error) -> None:
        self.page_errors.append(str(error))


@contextmanager
def _page(
    browser: Browser, viewport: ViewportSize, *, phone: bool = False
) -> Iterator[tuple[Page, Recorder]]:
    context = browser.new_context(
        viewport=viewport,
        device_scale_factor=3 if phone else 1,
        is_mobile=phone,
        has_touch=phone,
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    recorder = Recorder()
    page.on("request", recorder.on_request)
    page.on("console", recorder.on_console)
    page.on("pageerror", recorder.on_page_error)
    page.add_init_script(STATUS_LOG)
    try:
        yield page, recorder
    finally:
        context.close()


def _sign_in(page: Page, token: str) -> None:
    field = page.get_by_label("API token")
    expect(field).to_have_attribute("type", "password")
    field.fill(token)
    page.get_by_role("button", name="Sign in").click()


def _position(page: Page, code: str) -> tuple[float, float]:
    position = page.evaluate("code => window.signalight.screenPositionOf(code)", code)
    assert position is not None, f"{code} is not on the map"
    return float(position["x"]), float(position["y"])


def _assert_only_local(recorder: Recorder, site: Site) -> None:
    foreign = [r.url for r in recorder.requests if not r.url.startswith(f"{site.base_url}/")]
    assert foreign == []
    assert not [r.url for r in recorder.requests if site.token in r.url]


def test_a_wrong_token_is_refused(site: Site, browser: Browser) -> None:
    with _page(browser, DESKTOP) as (page, recorder):
        page.goto(site.base_url)
        _sign_in(page, "slt_not-a-real-token")

        expect(page.locator("#status")).to_contain_text("token not accepted")
        expect(page.locator("#status")).to_have_class("status is-error")
        expect(page.get_by_label("API token")).to_be_visible()
        expect(page.locator("#inventory")).to_be_hidden()
        assert page.evaluate("sessionStorage.length + localStorage.length") == 0
        # The browser itself logs the refused request; nothing else may complain.
        assert recorder.console_errors
        assert all("status of 401" in text for text in recorder.console_errors)
        assert recorder.page_errors == []
        _assert_only_local(recorder, site)


def test_a_network_error_is_shown(site: Site, browser: Browser) -> None:
    with _page(browser, DESKTOP) as (page, recorder):
        page.route("**/api/v1/cities", lambda route: route.abort())
        page.goto(site.base_url)
        _sign_in(page, site.token)

        expect(page.locator("#status")).to_contain_text("Network error")
        expect(page.locator("#status")).to_have_class("status is-error")
        assert recorder.page_errors == []
        _assert_only_local(recorder, site)


def _check_city_list_and_counts(page: Page, site: Site) -> None:
    # Only the cities this token holds a role in.
    options = page.locator("#city option")
    expect(options).to_have_count(1)
    assert options.evaluate_all("os => os.map(o => o.value)") == [site.city.slug]
    expect(options.first).to_contain_text("Seberang Perai")
    expect(page.locator("#city")).not_to_contain_text("Hidden Town")
    expect(page.locator("#city-name")).to_have_text("Seberang Perai")
    expect(page.locator("#city-country")).to_have_text("MY")
    expect(page.locator("#city-timezone")).to_have_text("Asia/Kuala_Lumpur")
    for kind, count in [("streetlight", 6000), ("cabinet", 2), ("intersection", 3)]:
        counter = page.locator(f"#count-{kind}")
        expect(counter).to_have_text(f"{count:,}")
        expect(counter).to_have_attribute("data-count", str(count))


def _check_every_page_loaded(page: Page, recorder: Recorder, site: Site) -> None:
    expect(page.locator("#map")).to_have_attribute("data-features", str(TOTAL), timeout=TIMEOUT_MS)
    expect(page.locator("#status")).to_contain_text(f"{TOTAL:,} assets loaded")
    assert f"Loaded 5,000 of {TOTAL:,} assets…" in page.evaluate("window.statusLog")
    pages = [r.url for r in recorder.requests if "/assets?" in r.url]
    assert len(pages) == 2
    assert all("format=geojson" in url and "limit=5000" in url for url in pages)
    assert "cursor=" not in pages[0]
    assert "cursor=" in pages[1]
    assert f"/cities/{site.hidden.slug}" not in " ".join(r.url for r in recorder.requests)


def _check_clicks_zoom_and_pan(page: Page) -> None:
    # A click on a light shows its details; so does one on an intersection.
    details = page.locator("#details")
    page.mouse.click(*_position(page, KNOWN_LIGHT))
    expect(details).to_contain_text(KNOWN_LIGHT)
    for text in ["streetlight", "Jalan 31", "collector", "HPS", "150 W", "CAB-1", "node-3030"]:
        expect(details).to_contain_text(text)
    expect(details).to_contain_text("in service")
    page.screenshot(path=SCREENSHOT)

    page.mouse.click(*_position(page, KNOWN_INTERSECTION))
    expect(details).to_contain_text(KNOWN_INTERSECTION)
    expect(details).to_contain_text("ctl-2")
    expect(details).not_to_contain_text(KNOWN_LIGHT)

    # The wheel zooms around the pointer: the light under it stays, a far one moves away.
    light = _position(page, KNOWN_LIGHT)
    far = _position(page, "SL-00000")
    page.mouse.move(*light)
    page.mouse.wheel(0, -600)
    page.wait_for_function(
        "([code, x]) => Math.abs(window.signalight.screenPositionOf(code).x - x) > 50",
        arg=["SL-00000", far[0]],
    )
    zoomed = _position(page, KNOWN_LIGHT)
    assert math.dist(zoomed, light) < 2

    # A drag pans by as much as the pointer moved, and is not a click.
    page.mouse.move(*zoomed)
    page.mouse.down()
    page.mouse.move(zoomed[0] + 120, zoomed[1] + 60, steps=6)
    page.mouse.up()
    panned = _position(page, KNOWN_LIGHT)
    assert math.dist(panned, (zoomed[0] + 120, zoomed[1] + 60)) < 2
    expect(details).to_contain_text(KNOWN_INTERSECTION)
    page.mouse.click(*panned)
    expect(details).to_contain_text(KNOWN_LIGHT)


def _check_token_handling(page: Page, recorder: Recorder, site: Site) -> None:
    # Each API request carries the token as a bearer header, and nothing else does.
    api = recorder.api_requests(site.base_url)
    assert api
    assert {r.headers.get("authorization") for r in api} == {f"Bearer {site.token}"}
    assert all("authorization" not in r.headers for r in recorder.requests if r not in api)
    assert site.token not in page.url
    stored = page.evaluate("JSON.stringify(Object.entries(localStorage)) + document.cookie")
    assert site.token not in stored
    assert page.evaluate("sessionStorage.getItem('signalight.token')") == site.token

    # A reload keeps the tab signed in; signing out forgets the token.
    page.reload()
    expect(page.locator("#map")).to_have_attribute("data-features", str(TOTAL), timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API token")).to_be_visible()
    expect(page.locator("#status")).to_contain_text("Signed out")
    assert page.evaluate("sessionStorage.getItem('signalight.token')") is None
    assert site.token not in page.content()


def test_the_inventory_loads_draws_and_answers_clicks(site: Site, browser: Browser) -> None:
    with _page(browser, DESKTOP) as (page, recorder):
        page.goto(site.base_url)
        expect(page.locator("#status")).to_contain_text("Sign in")
        _sign_in(page, site.token)

        _check_city_list_and_counts(page, site)
        _check_every_page_loaded(page, recorder, site)
        _check_clicks_zoom_and_pan(page)
        _check_token_handling(page, recorder, site)

        assert recorder.console_errors == []
        assert recorder.page_errors == []
        _assert_only_local(recorder, site)


def test_the_page_fits_a_phone(site: Site, browser: Browser) -> None:
    with _page(browser, PHONE, phone=True) as (page, recorder):
        page.goto(site.base_url)
        _sign_in(page, site.token)
        expect(page.locator("#map")).to_have_attribute(
            "data-features", str(TOTAL), timeout=TIMEOUT_MS
        )

        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        map_box = page.locator("#map").bounding_box()
        details_box = page.locator("#details").bounding_box()
        assert map_box is not None
        assert details_box is not None
        assert details_box["y"] >= map_box["y"] + map_box["height"] - 1  # the panel is below

        page.touchscreen.tap(*_position(page, KNOWN_INTERSECTION))
        expect(page.locator("#details")).to_contain_text(KNOWN_INTERSECTION)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=SCREENSHOT_PHONE, full_page=True)

        assert recorder.console_errors == []
        assert recorder.page_errors == []
        _assert_only_local(recorder, site)
