"""The crew's phone view in a real headless Chromium: my orders, nearest first, worked on site.

An operator makes an order from an alarm and gives it to carl; carl, on a
phone-sized page, sees his orders only, starts the job, adds a note and a
photo and finishes it with a lamp; the order stays "not confirmed" while the
alarm is raised, and is confirmed once the telemetry clears it.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, Geolocation, Locator, Page, Route, expect

from signalight.domain.alarms import Alarm, AlarmType, Severity
from tests.web.console_rig import (
    PHONE,
    ConsoleSite,
    assert_accessible,
    new_page,
    page_errors,
    sign_in,
    snap,
)
from tests.web.test_console_work_orders import call, orders_path

pytestmark = pytest.mark.browser

MAP = (".maplibregl-canvas-container",)  # pixels axe cannot read; the map's controls are checked


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


class Story:
    """What the module's tests share: the alarm and the orders made for it."""

    alarm: Alarm
    fault: int  # carl's order for the alarm on SL-005 (major: due in 24 h)
    far: int  # carl's order by hand on SL-090 (critical: due in 4 h, so first by due time)
    coras: int  # cora's order on SL-006


@pytest.fixture(scope="module")
def story(site: ConsoleSite, browser: Browser) -> Story:
    """The operator makes the orders through the console's pages, as at the desk."""
    told = Story()
    told.alarm = site.alarm("SL-005", AlarmType.LAMP_FAILURE, Severity.MAJOR)
    context, page = new_page(browser)
    sign_in(page, site, "otto", f"/c/{site.city.slug}/work-orders")
    page.get_by_label("Asset code").fill("SL-005")
    page.get_by_label("Asset code").press("Tab")
    expect(page.get_by_role("radio", name="lampFailure", exact=False)).to_be_checked()
    page.get_by_role("button", name="Make the work order").click()
    expect(page.locator("#wo-state")).to_have_text("Open")
    page.get_by_label("Crew member (username)").fill("carl")
    page.get_by_role("button", name="Assign").click()
    expect(page.locator("#wo-crew")).to_have_text("carl")
    snap(page, "crew-00-operator-assigned")
    told.fault = int(page.url.rsplit("/", 1)[1])

    def by_hand(code: str, title: str, priority: str, crew: str) -> int:
        body = {"asset": site.assets[code], "title": title, "priority": priority, "crew": crew}
        answer = call(page, "POST", orders_path(site), body)
        assert answer["status"] == 201, answer
        return int(answer["body"]["id"])

    told.far = by_hand("SL-090", "Pole leaning after a crash", "critical", "carl")
    told.coras = by_hand("SL-006", "Cora's flicker", "major", "cora")
    assert page_errors(page) == []
    context.close()
    return told


def _card(page: Page, order_id: int) -> Locator:
    return page.locator(f'li.crewcard[data-order="{order_id}"]')


def _open_crew(page: Page, site: ConsoleSite, user: str) -> None:
    sign_in(page, site, user, f"/c/{site.city.slug}/crew")
    expect(page.get_by_role("heading", name="My work orders", level=1)).to_be_visible()
    expect(page.locator(".crewmap")).to_have_attribute("data-ready", "true")


def _place(page: Page, site: ConsoleSite, code: str) -> Geolocation:
    asset: Any = call(page, "GET", f"/cities/{site.city.slug}/assets/{site.assets[code]}")
    return {"longitude": asset["body"]["lon"], "latitude": asset["body"]["lat"]}


def test_carl_sees_only_his_orders_by_due_time_then_nearest_first(
    site: ConsoleSite, browser: Browser, story: Story
) -> None:
    context, page = new_page(browser, PHONE)
    _open_crew(page, site, "carl")
    cards = page.locator("li.crewcard")
    expect(cards).to_have_count(2)
    expect(_card(page, story.coras)).to_have_count(0)
    expect(page.locator("#crew-sort")).to_have_text(
        "By due time, soonest first (your location is not shared)."
    )
    expect(cards.first).to_have_attribute("data-order", str(story.far))
    expect(page.locator(".crewmap")).to_have_attribute("data-markers", "2")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(page, exclude=MAP)
    snap(page, "crew-01-by-due-time")

    # Standing by SL-005, with the location shared: that order comes first, its distance said.
    context.grant_permissions(["geolocation"])
    context.set_geolocation(_place(page, site, "SL-005"))
    page.get_by_role("button", name="Nearest first (use my location)").click()
    expect(page.locator("#crew-sort")).to_have_text("Nearest first, from where you are.")
    expect(cards.first).to_have_attribute("data-order", str(story.fault))
    expect(_card(page, story.fault)).to_contain_text("0 m away")
    snap(page, "crew-02-nearest-first")
    assert page_errors(page) == []
    context.close()


def test_carl_works_the_order_on_his_phone_and_sees_it_confirmed(
    site: ConsoleSite, browser: Browser, story: Story
) -> None:
    context, page = new_page(browser, PHONE)
    _open_crew(page, site, "carl")
    card = _card(page, story.fault)
    expect(card).to_contain_text("Assigned")

    # A slow start: the button says it is busy and cannot be pressed twice.
    held: list[Route] = []
    pattern = f"**/work-orders/{story.fault}/start"

    def hold(route: Route) -> None:  # a bound method is refused by Playwright's route()
        held.append(route)

    page.route(pattern, hold)
    start = card.get_by_role("button", name="Start")
    start.click()
    busy = card.get_by_role("button", name="Starting…")
    expect(busy).to_be_disabled()
    expect(busy).to_have_attribute("aria-busy", "true")
    snap(page, "crew-03-starting")
    held[0].continue_()
    expect(card).to_contain_text("In progress")
    page.unroute(pattern)
    expect(_card(page, story.far)).to_contain_text("Assigned")  # the other card was left alone

    card.get_by_role("button", name="Note").click()
    card.get_by_role("textbox", name="Note").fill("Lamp dark; replacing it with a new one")
    card.get_by_role("button", name="Save the note").click()
    expect(card.locator(".done")).to_have_text("Note saved.")
    snap(page, "crew-04-note")

    card.get_by_label("Add a photo").set_input_files(
        {"name": "pole.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}
    )
    expect(card.locator(".done")).to_have_text("Photo sent (1 this visit).")
    snap(page, "crew-05-photo")

    card.get_by_role("button", name="Finish").click()
    card.get_by_label("Lamp").fill("1")
    assert_accessible(page, exclude=MAP)
    snap(page, "crew-06-finish-form")
    card.get_by_role("button", name="Finish the job").click()
    expect(card.locator(".outcome")).to_have_text(
        "Closed, not confirmed: waiting for the telemetry to show the fault gone"
    )
    expect(card.get_by_role("button", name="Start")).to_have_count(0)
    snap(page, "crew-07-finished-not-confirmed")

    _stale_then_confirmed(page, site, story)

    # Back on the crew view, the done order has left the list.
    page.goto(f"{site.base_url}/#/c/{site.city.slug}/crew")
    expect(page.locator("li.crewcard")).to_have_count(1)
    expect(_card(page, story.fault)).to_have_count(0)
    assert page_errors(page) == []
    context.close()


def _stale_then_confirmed(page: Page, site: ConsoleSite, story: Story) -> None:
    """After the finish: a reload offline shows the kept list; the repair is then confirmed."""
    # A reload with the network gone (the server's API unreachable, the session
    # check too) still shows the orders, said to be possibly out of date.
    page.route("**/api/v1/**", lambda route: route.abort())
    page.reload()
    expect(page.locator("#crew-fresh")).to_contain_text("Possibly out of date")
    expect(page.locator("li.crewcard")).to_have_count(2)
    assert_accessible(page)
    snap(page, "crew-08-stale")
    expect(page.locator("#status")).to_contain_text(re.compile("not answer"))
    page.unroute("**/api/v1/**")

    # The telemetry shows the lamp lit: the repair is confirmed and the alarm closed by the order.
    site.clear(story.alarm)
    site.container.maintenance.confirm_repairs(site.city.pk)
    _card(page, story.fault).get_by_role("link", name=f"#{story.fault} SL-005").click()
    expect(page.locator(".outcome")).to_have_text("Closed, confirmed")
    expect(page.locator("#wo-alarms li")).to_contain_text("closed")
    expect(page.locator("#wo-parts")).to_have_text("lamp \N{MULTIPLICATION SIGN} 1")
    expect(page.locator(".notes li").first).to_contain_text("carl: Lamp dark")
    thumb = page.get_by_role("img", name="Photo 1 by carl", exact=False)
    expect(thumb).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth", thumb.element_handle()) == 64
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(page)
    snap(page, "crew-09-confirmed")


def test_cora_cannot_act_on_carls_order_and_a_viewer_sees_no_actions(
    site: ConsoleSite, browser: Browser, story: Story
) -> None:
    context, page = new_page(browser, PHONE)
    _open_crew(page, site, "cora")
    expect(page.locator("li.crewcard")).to_have_count(1)
    expect(_card(page, story.coras)).to_be_visible()
    expect(_card(page, story.far)).to_have_count(0)
    snap(page, "crew-10-cora")
    forged = call(page, "POST", orders_path(site, story.far, "start"))
    assert forged["status"] == 403, forged
    photo = page.evaluate(
        """async (path) => {
            const session = await (await fetch("/api/v1/auth/session")).json();
            const response = await fetch("/api/v1" + path, {method: "POST",
                headers: {"X-CSRF-Token": session.csrf_token, "Content-Type": "image/jpeg"},
                body: new Uint8Array([255, 216, 255])});
            return response.status;
        }""",
        orders_path(site, story.far, "photos"),
    )
    assert photo == 403
    page.goto(f"{site.base_url}/#/c/{site.city.slug}/work-orders/{story.far}")
    expect(page.get_by_role("status")).to_contain_text("is not assigned to you")
    expect(page.get_by_role("button", name="Start")).to_have_count(0)
    assert page_errors(page) == []
    context.close()

    context, page = new_page(browser, PHONE)
    sign_in(page, site, "vera", f"/c/{site.city.slug}/work-orders/{story.far}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pole leaning")
    expect(page.get_by_role("button")).to_have_count(1)  # sign out, nothing else
    expect(page.get_by_role("link", name="My orders")).to_have_count(0)
    assert_accessible(page)
    snap(page, "crew-11-viewer")
    assert page_errors(page) == []
    context.close()
