"""The console's work-order list and order page in a real headless Chromium, on a real server."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from signalight.domain.alarms import AlarmType, Severity
from tests.web.console_rig import (
    ConsoleSite,
    assert_accessible,
    new_page,
    page_errors,
    sign_in,
    snap,
)

pytestmark = pytest.mark.browser


def call(page: Page, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """Call the API from the page as the signed-in user (cookie and CSRF token): {status, body}."""
    return page.evaluate(  # type: ignore[no-any-return]
        """async ([method, path, body]) => {
            const session = await (await fetch("/api/v1/auth/session")).json();
            const init = {method, headers: {"X-CSRF-Token": session.csrf_token}};
            if (body !== null) {
                init.body = JSON.stringify(body);
                init.headers["Content-Type"] = "application/json";
            }
            const response = await fetch("/api/v1" + path, init);
            const text = await response.text();
            return {status: response.status, body: text ? JSON.parse(text) : null};
        }""",
        [method, path, body],
    )


def orders_path(site: ConsoleSite, *rest: object) -> str:
    return "/".join([f"/cities/{site.city.slug}/work-orders", *map(str, rest)])


def open_order(page: Page, site: ConsoleSite, order_id: int) -> None:
    page.goto(f"{site.base_url}/#/c/{site.city.slug}/work-orders/{order_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Work order #{order_id}")


def test_an_operator_makes_an_order_for_an_alarm_assigns_it_and_sees_it_confirmed(
    site: ConsoleSite, browser: Browser
) -> None:
    alarm = site.alarm("SL-001", AlarmType.LAMP_FAILURE, Severity.MAJOR)
    context, page = new_page(browser)
    sign_in(page, site, "otto", f"/c/{site.city.slug}/work-orders")
    expect(page.get_by_role("heading", name="Work orders", level=1)).to_be_visible()
    assert_accessible(page)
    snap(page, "wo-01-list-empty")

    page.get_by_label("Asset code").fill("SL-001")
    page.get_by_label("Asset code").press("Tab")
    reason = page.get_by_role("radio", name=re.compile(r"Alarm #\d+: lampFailure, major, raised"))
    expect(reason).to_be_checked()
    snap(page, "wo-02-new-from-alarm")
    assert_accessible(page)
    page.get_by_role("button", name="Make the work order").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("lampFailure on")
    order_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("#wo-state")).to_have_text("Open")
    expect(page.locator("#wo-alarms li")).to_have_count(1)
    expect(page.locator("#wo-alarms li")).to_contain_text("raised")
    asset_link = page.get_by_role("link", name="SL-001")
    expect(asset_link).to_have_attribute(
        "href", f"#/c/{site.city.slug}/assets/{site.assets['SL-001']}"
    )
    assert_accessible(page)
    snap(page, "wo-03-order-open")

    _assign_work_and_finish(page)

    # The lamp is lit: the alarm clears, the repair is confirmed, the page follows live.
    site.clear(alarm)
    site.container.maintenance.confirm_repairs(site.city.pk)
    expect(page.locator(".outcome")).to_have_text("Closed, confirmed")
    expect(page.locator("#wo-alarms li")).to_contain_text("closed")
    expect(page.locator("#wo-alarms li")).to_contain_text(f"closed by work-order {order_id}")
    snap(page, "wo-05-confirmed")

    # In the list, done and confirmed.
    page.goto(f"{site.base_url}/#/c/{site.city.slug}/work-orders")
    page.get_by_label("State").select_option("done")
    row = page.locator(f'tr[data-order="{order_id}"]')
    expect(row).to_contain_text("Closed, confirmed")
    assert page_errors(page) == []
    context.close()


def _assign_work_and_finish(page: Page) -> None:
    """On an open order's page: assign it to carl, start it, note it, finish it with a lamp."""
    # Someone with no crew role is refused in words; carl is taken.
    # The names offered are those an order may be given to: crew first, never a viewer.
    offered = page.locator("#wo-crew-list option")
    expect(offered).to_have_count(4)
    assert offered.evaluate_all("(options) => options.map((o) => o.value)") == [
        "carl",
        "cora",
        "ada",
        "otto",
    ]
    page.get_by_label("Crew member (username)").fill("vera")
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_role("alert").filter(has_text="Not valid")).to_contain_text("vera")
    page.get_by_label("Crew member (username)").fill("carl")
    page.get_by_role("button", name="Assign").click()
    expect(page.locator("#wo-crew")).to_have_text("carl")
    expect(page.locator("#wo-state")).to_have_text("Assigned")

    # The operator works it too: start, note, finish with a lamp while the alarm is still raised.
    page.get_by_role("button", name="Start").click()
    expect(page.locator("#wo-state")).to_have_text("In progress")
    page.get_by_label("Note", exact=True).fill("Lamp dark, replacing it")
    page.get_by_role("button", name="Save the note").click()
    expect(page.locator(".notes li")).to_contain_text("otto: Lamp dark, replacing it")
    page.get_by_label("Lamp").fill("1")
    page.get_by_role("button", name="Finish the job").click()
    expect(page.locator(".outcome")).to_have_text(
        "Closed, not confirmed: waiting for the telemetry to show the fault gone"
    )
    expect(page.locator("#wo-parts")).to_have_text("lamp \N{MULTIPLICATION SIGN} 1")
    expect(page.locator("#wo-state")).to_have_text("Done")
    expect(page.get_by_role("button", name="Finish the job")).to_have_count(0)
    expect(page.get_by_role("button", name="Cancel the order")).to_have_count(0)
    assert_accessible(page)
    snap(page, "wo-04-finished-not-confirmed")


def test_the_list_filters_sorts_and_says_past_due_in_words(
    site: ConsoleSite, browser: Browser
) -> None:
    # A one-second service level for warnings makes a past-due order without waiting hours.
    site.container.maintenance.set_service_levels(site.city, {"warning": 1 / 3600})
    context, page = new_page(browser)
    sign_in(page, site, "otto", f"/c/{site.city.slug}/work-orders")
    made = []
    for code, title, priority, crew in (
        ("SL-020", "Repaint the pole", "warning", None),
        ("SL-021", "Check the cabinet door", "critical", "cora"),
        ("SL-022", "Tilted bracket", "minor", "carl"),
    ):
        body = {"asset": site.assets[code], "title": title, "priority": priority}
        if crew:
            body["crew"] = crew
        answer = call(page, "POST", orders_path(site), body)
        assert answer["status"] == 201, answer
        made.append(answer["body"]["id"])
    site.container.maintenance.set_service_levels(site.city, {})
    time.sleep(1.2)
    page.reload()
    rows = page.locator("tbody tr[data-order]")
    expect(rows.filter(has_text="Repaint the pole")).to_contain_text("Past due since")
    expect(rows.filter(has_text="Tilted bracket")).not_to_contain_text("Past due")

    page.get_by_label("Past due only").check()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Repaint the pole")
    snap(page, "wo-06-past-due")
    page.get_by_label("Past due only").uncheck()

    page.get_by_label("Crew member").fill("cora")
    page.get_by_label("Crew member").press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Check the cabinet door")
    page.get_by_label("Crew member").fill("")
    page.get_by_label("Crew member").press("Enter")

    # Sorted by priority: critical first, then again for warning first.
    page.get_by_role("button", name="Priority").click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Priority")
    expect(rows.first).to_contain_text("critical")
    page.get_by_role("button", name=re.compile("^Priority")).click()
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Priority")
    expect(rows.first).to_contain_text("warning")
    assert_accessible(page)
    snap(page, "wo-07-sorted")

    # By hand needs a title and a priority; an unknown code is said.
    page.get_by_label("Asset code").fill("SL-999")
    page.get_by_role("button", name="Make the work order").click()
    expect(page.locator(".createform .form-error")).to_have_text("No asset with the code SL-999.")
    page.get_by_label("Asset code").fill("SL-030")
    page.get_by_role("button", name="Make the work order").click()
    expect(page.locator(".createform .form-error")).to_have_text(
        "By hand, give a title and a priority."
    )
    page.get_by_label("Title").fill("Replace the door seal")
    page.get_by_label("Priority").select_option("minor")
    page.get_by_role("button", name="Make the work order").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Replace the door seal")
    expect(page.get_by_role("heading", name="No incident")).to_be_visible()
    assert page_errors(page) == []
    context.close()


def test_a_viewer_reads_and_another_crew_member_cannot_act(
    site: ConsoleSite, browser: Browser
) -> None:
    context, page = new_page(browser)
    sign_in(page, site, "otto", f"/c/{site.city.slug}/work-orders")
    answer = call(
        page,
        "POST",
        orders_path(site),
        {"asset": site.assets["SL-040"], "title": "Carl's job", "priority": "major"}
        | {"crew": "carl"},
    )
    order_id = answer["body"]["id"]
    context.close()

    context, page = new_page(browser)
    sign_in(page, site, "vera", f"/c/{site.city.slug}/work-orders/{order_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Carl's job")
    expect(page.get_by_role("heading", name="Actions")).to_have_count(0)
    expect(page.get_by_role("button", name="Start")).to_have_count(0)
    page.goto(f"{site.base_url}/#/c/{site.city.slug}/work-orders")
    expect(page.locator(f'tr[data-order="{order_id}"]')).to_be_visible()
    expect(page.get_by_role("heading", name="New work order")).to_have_count(0)
    assert_accessible(page)
    snap(page, "wo-08-viewer")
    assert call(page, "POST", orders_path(site, order_id, "start"))["status"] == 403
    assert page_errors(page) == []
    context.close()

    context, page = new_page(browser)
    sign_in(page, site, "cora", f"/c/{site.city.slug}/work-orders/{order_id}")
    expect(page.get_by_role("status")).to_contain_text("is not assigned to you")
    expect(page.get_by_role("button", name="Start")).to_have_count(0)
    snap(page, "wo-09-cora-refused")
    forged = call(page, "POST", orders_path(site, order_id, "start"))
    assert forged["status"] == 403, forged
    assert call(page, "POST", orders_path(site, order_id, "notes"), {"note": "x"})["status"] == 403
    page.goto(f"{site.base_url}/#/c/{site.city.slug}/work-orders")
    expect(page.locator("tbody tr[data-order]").first).to_be_visible()
    expect(page.locator(f'tr[data-order="{order_id}"]')).to_have_count(0)
    crews = page.locator("tbody tr[data-order] td:nth-child(6)").all_inner_texts()
    assert crews
    assert set(crews) == {"cora"}, crews
    assert page_errors(page) == []
    context.close()
