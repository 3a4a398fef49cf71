"""The network page in headless Chromium: member cities side by side, sorted, linked if allowed."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, Page, expect

from signalight.domain.alarms import AlarmType, Severity
from signalight.domain.networks import NetworkRole
from tests.conftest import unique
from tests.web.console_rig import (
    PHONE,
    ConsoleSite,
    assert_accessible,
    new_page,
    page_errors,
    sign_in,
    snap,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def network(site: ConsoleSite) -> str:
    """A network of the site's two cities, with vera as its viewer and figures that differ.

    Seberang Perai: two open faults and one repaired in half an hour. Hidden
    Town (where vera holds no role): one open fault, nothing repaired.
    """
    slug = unique("wego")
    networks = site.container.networks
    networks.add(slug, "WeGO members")
    networks.join(slug, site.city.slug)
    networks.join(slug, site.other.slug)
    networks.grant(slug, "vera", NetworkRole.VIEWER)
    now = time.time()
    site.alarm("SL-010", AlarmType.LAMP_FAILURE, Severity.MAJOR, at=now - 7200)
    site.alarm("SL-011", AlarmType.LOW_VOLTAGE, Severity.MINOR, at=now - 7200)
    repaired = site.alarm("SL-012", AlarmType.LAMP_FAILURE, Severity.MAJOR, at=now - 3600)
    site.clear(repaired, at=now - 1800)
    site.alarm("XSL-001", AlarmType.LAMP_FAILURE, Severity.MAJOR, city=site.other, at=now - 600)
    return slug


def _cities(page: Page) -> list[str]:
    """The cities in the order the table shows them."""
    return page.locator("#network-cities tbody th").all_inner_texts()


def test_the_member_cities_side_by_side_sorted_and_linked_only_where_allowed(
    site: ConsoleSite, browser: Browser, network: str
) -> None:
    context, page = new_page(browser)
    sign_in(page, site, "vera", f"/n/{network}")
    expect(page.get_by_role("heading", level=1)).to_have_text("WeGO members")
    table = page.locator("#network-cities")
    expect(table.locator("tbody tr")).to_have_count(2)
    here = table.locator(f'tr[data-city="{site.city.slug}"]')
    hidden = table.locator(f'tr[data-city="{site.other.slug}"]')
    expect(here.locator("td")).to_have_text(["100", "0.0 %", "0.5 h", "2"])
    expect(hidden.locator("td")).to_have_text(["100", "0.0 %", "\N{EN DASH}", "1"])
    # Only the city vera holds a role in links to its console.
    expect(here.get_by_role("link", name="Seberang Perai")).to_have_attribute(
        "href", f"#/c/{site.city.slug}"
    )
    expect(hidden.get_by_role("link")).to_have_count(0)
    expect(hidden).to_contain_text("no role here")
    # The menu offers the network.
    expect(page.locator("#nav").get_by_role("link", name="WeGO members")).to_be_visible()
    assert _cities(page) == ["Hidden Town (no role here)", "Seberang Perai"]
    snap(page, "network-01-cities")
    assert_accessible(page)

    header = table.locator("thead")
    header.get_by_role("button", name="Open faults").click()
    assert _cities(page)[0] == "Hidden Town (no role here)"
    expect(header.locator('th[aria-sort="ascending"]')).to_contain_text("Open faults")
    header.get_by_role("button", name="Open faults").click()
    assert _cities(page)[0] == "Seberang Perai"
    expect(header.locator('th[aria-sort="descending"]')).to_contain_text("Open faults")
    # A city with no repair yet has no MTTR: it goes last whichever way.
    header.get_by_role("button", name="Mean time to repair").click()
    assert _cities(page)[0] == "Seberang Perai"
    header.get_by_role("button", name="Mean time to repair").click()
    assert _cities(page)[0] == "Seberang Perai"
    header.get_by_role("button", name="City").click()
    assert _cities(page)[0] == "Hidden Town (no role here)"

    here.get_by_role("link", name="Seberang Perai").click()
    expect(page).to_have_url(f"{site.base_url}/#/c/{site.city.slug}")
    assert page_errors(page) == []
    context.close()


def test_a_network_without_a_role_in_it_is_not_there(
    site: ConsoleSite, browser: Browser, network: str
) -> None:
    context, page = new_page(browser)
    sign_in(page, site, "carl", f"/n/{network}")
    expect(page.get_by_role("heading", name="No such network")).to_be_visible()
    expect(page.locator("#network-cities")).to_have_count(0)
    page.goto(f"{site.base_url}/#/n/{unique('nowhere')}")
    expect(page.get_by_role("heading", name="No such network")).to_be_visible()
    snap(page, "network-02-no-role")
    assert page_errors(page) == []
    context.close()


def test_on_a_phone_the_page_does_not_scroll_sideways(
    site: ConsoleSite, browser: Browser, network: str
) -> None:
    context, page = new_page(browser, PHONE)
    sign_in(page, site, "vera", f"/n/{network}")
    expect(page.locator("#network-cities tbody tr")).to_have_count(2)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    snap(page, "network-03-phone")
    assert page_errors(page) == []
    context.close()
