"""What the console's browser tests share: a seeded city, users who sign in, screenshots, axe.

A module builds one :class:`ConsoleSite` (a real server over a SQLite file)
with :func:`console_site`, signs a user in with :func:`sign_in`, keeps a
screenshot of each step with :func:`snap` (under ``var/test-output/console``)
and checks a page with :func:`assert_accessible` (axe-core from npm, WCAG 2 A
and AA rules: labels, contrast, names, landmarks).
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from signalight.adapters.sql.database import SqlDatabase
from signalight.container import Container
from signalight.domain.alarms import Alarm, AlarmType, EventKind, Severity
from signalight.domain.assets import AssetKind, AssetQuery, AssetRecord, StreetClass
from signalight.domain.cities import City
from signalight.domain.geo import offset
from signalight.domain.users import Role
from signalight.settings import Settings
from tests.conftest import make_city, unique
from tests.web.browser import serve

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "var" / "test-output" / "console"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "correct horse battery staple"  # the test users' password
TIMEOUT_MS = 20_000
# The errors of each page new_page opened, kept beside the page (Playwright's
# Page has a page_errors method of its own, which must not be overwritten).
_ERRORS: weakref.WeakKeyDictionary[Page, list[str]] = weakref.WeakKeyDictionary()
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# The test users and their role in the site's city.
ROLES = {
    "ada": Role.ADMIN,
    "otto": Role.OPERATOR,
    "carl": Role.CREW,
    "cora": Role.CREW,
    "vera": Role.VIEWER,
}


@dataclass
class ConsoleSite:
    """The running server, its container, and what was put in it."""

    base_url: str
    container: Container
    city: City
    other: City  # a city none of the users may see
    assets: dict[str, int] = field(default_factory=dict)  # code -> id, in ``city``
    other_assets: dict[str, int] = field(default_factory=dict)

    def alarm(
        self,
        code: str,
        type_: AlarmType = AlarmType.LAMP_FAILURE,
        severity: Severity = Severity.MAJOR,
        *,
        city: City | None = None,
        at: float = 1_700_000_000.0,
        **overrides: Any,
    ) -> Alarm:
        """Raise an alarm on an asset the way the detector stores one."""
        target = city or self.city
        assets = self.assets if target is self.city else self.other_assets
        values: dict[str, Any] = {
            "city_id": target.pk,
            "type": type_,
            "severity": severity,
            "asset_id": assets[code],
            "asset_code": code,
            "raised_at": at,
            "observed_at": at - 30,
            "updated_at": at,
            "message": f"{type_} on {code}",
            "detail": {},
        }
        values.update(overrides)
        alarm = Alarm(**values)
        self.container.db.alarms.record([(alarm, EventKind.RAISED, at)])
        return alarm

    def clear(self, alarm: Alarm, at: float = 1_700_000_600.0) -> None:
        """Clear an alarm the way the detector does when its condition ends."""
        self.container.db.alarms.record([(alarm, EventKind.CLEARED, at)])


def _inventory(city: City, prefix: str) -> list[AssetRecord]:
    """One cabinet and a 10 x 10 grid of lights around the centre, the first ten with devices."""
    records = [
        AssetRecord(kind=AssetKind.CABINET, code=f"{prefix}CAB-1", lat=city.lat, lon=city.lon)
    ]
    for n in range(100):
        lat, lon = offset(city.lat, city.lon, (n // 10 - 5) * 35.0, (n % 10 - 5) * 35.0)
        records.append(
            AssetRecord(
                kind=AssetKind.STREETLIGHT,
                code=f"{prefix}SL-{n:03d}",
                lat=lat,
                lon=lon,
                street=f"Jalan {n // 10 + 1}",
                street_class=StreetClass.COLLECTOR if n < 50 else StreetClass.LOCAL,
                cabinet=f"{prefix}CAB-1",
                rated_watts=60.0,
                device=f"{prefix.lower()}node-{n:03d}" if n < 10 else None,
            )
        )
    return records


@contextmanager
def console_site(
    tmp: Path, *, place: dict[str, Any] | None = None, **settings: Any
) -> Iterator[ConsoleSite]:
    """A server over a fresh SQLite file with two cities, five users and 101 assets in each city.

    ``place`` overrides the city's ``lat``, ``lon`` and ``timezone``.
    """
    url = f"sqlite:///{tmp / 'console.db'}"
    db = SqlDatabase.connect(url)
    db.migrate()
    container = Container(Settings(data_dir=tmp, database_url=url, **settings), db)
    city = make_city(db, slug=unique("city"), name="Seberang Perai", **(place or {}))
    other = make_city(db, slug=unique("other"), name="Hidden Town", lat=3.14, lon=101.69)
    for name, role in ROLES.items():
        container.auth.add_user(name, PASSWORD)
        container.auth.grant(name, city, role)
    found: dict[str, dict[str, int]] = {}
    for target, prefix in ((city, ""), (other, "X")):
        db.assets.upsert_assets(target.pk, _inventory(target, prefix))
        found[target.slug] = {
            a.code: a.id for a in db.assets.query_assets(target.pk, AssetQuery(limit=1000)).items
        }
    try:
        with serve(container) as base:
            yield ConsoleSite(base, container, city, other, found[city.slug], found[other.slug])
    finally:
        db.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSite]:
    """One seeded console per test module."""
    with console_site(tmp_path_factory.mktemp("console")) as running:
        yield running


def new_page(browser: Browser, viewport: dict[str, int] = DESKTOP) -> tuple[BrowserContext, Page]:
    """A fresh browser context (its own cookies) and page, failing on any page error."""
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            errors.append(message.text)

    page.on("console", on_console)
    _ERRORS[page] = errors
    return context, page


def page_errors(page: Page) -> list[str]:
    """What went wrong in the page since :func:`new_page` opened it (errors, CSP refusals)."""
    return _ERRORS[page]


def sign_in(page: Page, site: ConsoleSite, username: str, path: str = "") -> None:
    """Open the console (at ``path``, a hash route) and sign in through the form."""
    page.goto(f"{site.base_url}/#{path or '/'}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signout")).to_be_visible()


def snap(page: Page, name: str) -> Path:
    """Keep a screenshot of the page as it is now in the test output."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_accessible(page: Page, *, exclude: tuple[str, ...] = ()) -> None:
    """No WCAG 2 A/AA violation axe-core can find on the page as it is now.

    ``exclude`` leaves out selectors (the map's canvas, whose contents are
    pixels axe cannot read; its controls are still checked).
    """
    if not AXE.is_file():
        pytest.fail("axe-core is missing: run `make install`", pytrace=False)
    # Evaluated through the DevTools protocol, which the page's CSP does not
    # govern: a <script> tag would be refused, as it should be.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    context = {"exclude": [[s] for s in exclude]} if exclude else None
    result = page.evaluate(
        """async (context) => await axe.run(context || document, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
        })""",
        context,
    )
    violations = [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
    ]
    assert not violations, json.dumps(violations, indent=1)
