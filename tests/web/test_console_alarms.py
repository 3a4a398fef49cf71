"""The console's alarms board in a real headless Chromium, on a real server."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import Error as PlaywrightError

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

T = 1_700_000_000.0
LIVE_MS = 15_000  # an event goes through the store, the stream's poll and the page


def board(page: Page, site: ConsoleSite, user: str) -> None:
    sign_in(page, site, user, f"/c/{site.city.slug}/alarms")
    expect(page.get_by_role("heading", name="Alarms", level=1)).to_be_visible()
    expect(page.locator(".alarms tbody tr").first).to_be_visible()


def row(page: Page, alarm_id: int) -> Locator:
    return page.locator(f'.alarms tbody tr[data-alarm="{alarm_id}"]')


def shown(page: Page) -> list[int]:
    """The ids of the board's rows, top to bottom (the held lights left out)."""
    ids = page.locator(".alarms tbody tr[data-alarm]:not(.heldrow)").evaluate_all(
        "(rows) => rows.map((r) => Number(r.dataset.alarm))"
    )
    return list(ids)


def expect_shown(page: Page, ids: list[int]) -> None:
    """Wait until the board shows these rows in this order (a filter reloads from the server)."""
    # On a timeout the assertion below says what is shown instead.
    with contextlib.suppress(PlaywrightError):
        page.wait_for_function(
            """(ids) => JSON.stringify([...document.querySelectorAll(
                '.alarms tbody tr[data-alarm]:not(.heldrow)')].map((r) => Number(r.dataset.alarm)))
                === JSON.stringify(ids)""",
            arg=ids,
            timeout=5_000,
        )
    assert shown(page) == ids


def api_get(page: Page, site: ConsoleSite, path: str) -> Any:
    answer = page.request.get(f"{site.base_url}/api/v1/cities/{site.city.slug}{path}")
    assert answer.status == 200, answer.text()
    return answer.json()


def sort_and_filter(page: Page, lamp: int, volts: int, power: int, gone: int) -> None:
    """The board's sorting and filters, over the alarms of the first test."""
    # Sorting: severity the other way, newest first, by type.
    page.get_by_role("button", name="Severity").click()
    assert shown(page) == [power, volts, lamp]
    expect(page.get_by_role("columnheader", name="Severity")).to_have_attribute(
        "aria-sort", "descending"
    )
    page.get_by_role("button", name="Raised").click()
    assert shown(page) == [power, volts, lamp]
    page.get_by_role("button", name="Raised").click()
    assert shown(page) == [lamp, volts, power]
    page.get_by_role("button", name="Type").click()  # High power, Lamp failure, Low voltage
    assert shown(page) == [power, lamp, volts]

    # Filters: by severity, type and state on the server; by asset code here.
    page.get_by_label("Severity").select_option("minor")
    expect_shown(page, [volts])
    page.get_by_label("Severity").select_option("")
    page.get_by_label("Type").select_option("lampFailure")
    expect_shown(page, [lamp])
    page.get_by_label("Type").select_option("")
    page.get_by_label("State").select_option("cleared")
    expect_shown(page, [gone])
    expect(row(page, gone)).to_contain_text("Cleared")
    page.get_by_label("State").select_option("open")
    expect_shown(page, [power, lamp, volts])
    page.get_by_label("Asset code").fill("sl-002")
    assert shown(page) == [volts]
    expect(page.locator(".hint[aria-live]")).to_contain_text("1 of 3 alarms shown")
    page.get_by_label("Asset code").fill("")


def test_the_board_lists_filters_sorts_and_follows_the_city_live(
    site: ConsoleSite, browser: Browser
) -> None:
    lamp = site.alarm("SL-001", AlarmType.LAMP_FAILURE, Severity.CRITICAL, at=T)
    volts = site.alarm("SL-002", AlarmType.LOW_VOLTAGE, Severity.MINOR, at=T + 100)
    power = site.alarm("SL-003", AlarmType.HIGH_POWER, Severity.WARNING, at=T + 200)
    gone = site.alarm("SL-004", AlarmType.NODE_FAULT, Severity.MAJOR, at=T + 300)
    site.clear(gone, at=T + 400)
    hidden = site.alarm("XSL-001", AlarmType.LAMP_FAILURE, Severity.MAJOR, city=site.other)
    context, page = new_page(browser)
    board(page, site, "vera")

    # The open ones, worst first; not the cleared one, never the hidden city's.
    assert shown(page) == [lamp.pk, volts.pk, power.pk]
    assert row(page, hidden.pk).count() == 0
    expect(page.locator(".alarms")).not_to_contain_text("XSL-001")
    first = row(page, lamp.pk)
    expect(first.locator(".badge")).to_have_text("Critical")
    expect(first).to_contain_text("Lamp failure")
    expect(first).to_contain_text("lampFailure on SL-001")
    expect(first.get_by_role("link", name="SL-001")).to_have_attribute(
        "href", f"#/c/{site.city.slug}/assets/{site.assets['SL-001']}"
    )
    expect(first).to_contain_text("Raised")
    # A viewer sees no action, and the server refuses one forged with her cookie.
    expect(page.get_by_role("columnheader", name="Actions")).to_have_count(0)
    expect(page.locator(".alarms thead tr")).to_have_text(
        "Severity ▲TypeAssetMessageRaisedStateAcknowledged by"
    )
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(page.get_by_role("button", name="Work order")).to_have_count(0)
    csrf = page.request.get(f"{site.base_url}/api/v1/auth/session").json()["csrf_token"]
    forged = page.request.post(
        f"{site.base_url}/api/v1/cities/{site.city.slug}/alarms/{lamp.pk}/acknowledge",
        headers={"X-CSRF-Token": csrf},
        data={"note": "not mine to take"},
    )
    assert forged.status == 403
    assert api_get(page, site, f"/alarms/{lamp.pk}")["state"] == "raised"
    assert_accessible(page)
    snap(page, "alarms-01-board")

    sort_and_filter(page, lamp.pk, volts.pk, power.pk, gone.pk)

    # An alarm raised now is on the board without a reload, flagged new; another city's is not.
    site.alarm("XSL-002", AlarmType.NODE_FAULT, Severity.CRITICAL, city=site.other)
    late = site.alarm("SL-005", AlarmType.NODE_FAULT, Severity.MAJOR, at=T + 500)
    expect(row(page, late.pk)).to_be_visible(timeout=LIVE_MS)
    expect(row(page, late.pk).locator(".flag")).to_have_text("New")
    expect(row(page, late.pk)).to_have_class("is-new")
    assert len(shown(page)) == 4
    expect(page.locator(".alarms")).not_to_contain_text("XSL-002")
    snap(page, "alarms-02-live")
    assert page_errors(page) == []
    context.close()


def test_an_operator_acknowledges_notes_closes_and_makes_a_work_order(
    site: ConsoleSite, browser: Browser
) -> None:
    alarm = site.alarm("SL-010", AlarmType.LAMP_FAILURE, Severity.MAJOR, at=T + 1000)
    context, page = new_page(browser)
    board(page, site, "otto")
    line = row(page, alarm.pk)
    expect(line.get_by_role("button", name="Close")).to_have_count(0)  # not before it clears
    assert_accessible(page)

    line.get_by_role("button", name="Acknowledge").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Acknowledge alarm #{alarm.pk}")
    dialog.get_by_label("Note (optional)").fill("crew 3 on the way")
    assert_accessible(page)
    snap(page, "alarms-03-acknowledge")
    dialog.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#status")).to_have_text(f"Alarm #{alarm.pk} acknowledged.")
    expect(line).to_have_attribute("data-state", "acknowledged")
    expect(line.locator("td").nth(6)).to_have_text("otto")
    expect(line.get_by_role("button", name="Acknowledge")).to_have_count(0)

    line.get_by_role("button", name="Note").click()
    dialog.get_by_role("button", name="Add the note").click()
    expect(dialog.get_by_role("alert")).to_have_text("Write the note first.")
    dialog.get_by_label("Note").fill("ladder needed")
    dialog.get_by_role("button", name="Add the note").click()
    expect(page.locator("#status")).to_have_text(f"Alarm #{alarm.pk} noted.")
    expect(dialog).to_have_count(0)

    # The lamp comes back: the row follows the stream, and now it may be closed.
    site.clear(alarm, at=T + 2000)
    expect(line).to_have_attribute("data-state", "cleared", timeout=LIVE_MS)
    expect(line.locator(".flag")).to_have_text("Changed")
    line.get_by_role("button", name="Close").click()
    dialog.get_by_label("Note (optional)").fill("lamp replaced")
    dialog.get_by_role("button", name="Close the alarm").click()
    expect(line).to_have_attribute("data-state", "closed")
    expect(line.get_by_role("button")).to_have_count(0)
    snap(page, "alarms-04-closed")

    detail = api_get(page, site, f"/alarms/{alarm.pk}")
    assert detail["state"] == "closed"
    assert detail["acknowledged_by"] == "otto"
    assert detail["closed_by"] == "otto"
    steps = [(e["kind"], e["actor"], e["note"]) for e in detail["events"]]
    assert steps == [
        ("raised", None, ""),
        ("acknowledged", "otto", "crew 3 on the way"),
        ("noted", "otto", "ladder needed"),
        ("cleared", None, ""),
        ("closed", "otto", "lamp replaced"),
    ]

    # A work order from an alarm, in one step, and its page opens.
    broken = site.alarm("SL-011", AlarmType.HIGH_VOLTAGE, Severity.CRITICAL, at=T + 3000)
    expect(row(page, broken.pk)).to_be_visible(timeout=LIVE_MS)
    row(page, broken.pk).get_by_role("button", name="Work order").click()
    page.wait_for_url(f"{site.base_url}/#/c/{site.city.slug}/work-orders/*")
    order_id = int(page.url.rsplit("/", 1)[1])
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Work order #{order_id}")
    order = api_get(page, site, f"/work-orders/{order_id}")
    assert order["asset_id"] == site.assets["SL-011"]
    assert order["priority"] == "critical"
    assert page_errors(page) == []
    context.close()


def test_an_outage_is_one_row_with_its_held_lights_under_it(
    site: ConsoleSite, browser: Browser
) -> None:
    outage = site.alarm("CAB-1", AlarmType.SUPPLY_LOSS, Severity.CRITICAL, at=T + 5000)
    lights = [
        site.alarm(
            code,
            AlarmType.LAMP_FAILURE,
            Severity.MINOR,
            at=T + 5001,
            held=True,
            parent_id=outage.pk,
        )
        for code in ("SL-020", "SL-021", "SL-022")
    ]
    context, page = new_page(browser)
    board(page, site, "vera")
    top = row(page, outage.pk)
    expect(top).to_contain_text("Cabinet supply lost")
    for light in lights:  # not on the board by themselves
        expect(row(page, light.pk)).to_have_count(0)
    toggle = top.get_by_role("button", name="3 held lights")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    under = page.locator(f'.alarms tbody tr[data-parent="{outage.pk}"]')
    expect(under).to_have_count(3)
    expect(under.nth(0)).to_contain_text("Held, Raised")
    assert sorted(under.locator("a").all_text_contents()) == ["SL-020", "SL-021", "SL-022"]
    # The held lights come right under their outage.
    order = page.locator(".alarms tbody tr").evaluate_all(
        "(rows) => rows.map((r) => Number(r.dataset.alarm))"
    )
    at = order.index(outage.pk)
    assert sorted(order[at + 1 : at + 4]) == sorted(light.pk for light in lights)
    assert_accessible(page)
    snap(page, "alarms-05-outage")
    toggle.click()
    expect(under).to_have_count(0)
    assert page_errors(page) == []
    context.close()


def test_a_step_the_server_refuses_is_said_in_words(site: ConsoleSite, browser: Browser) -> None:
    alarm = site.alarm("SL-030", AlarmType.NODE_FAULT, Severity.MINOR, at=T + 6000)
    context, page = new_page(browser)
    board(page, site, "otto")
    row(page, alarm.pk).get_by_role("button", name="Acknowledge").click()
    # Someone else takes it while the form is open.
    csrf = page.request.get(f"{site.base_url}/api/v1/auth/session").json()["csrf_token"]
    taken = page.request.post(
        f"{site.base_url}/api/v1/cities/{site.city.slug}/alarms/{alarm.pk}/acknowledge",
        headers={"X-CSRF-Token": csrf},
        data={},
    )
    assert taken.status == 200
    page.get_by_role("dialog").get_by_role("button", name="Acknowledge").click()
    status = page.locator("#status")
    expect(status).to_contain_text("Not possible now:")
    expect(status).to_have_class("status is-error")
    snap(page, "alarms-06-refused")
    assert page_errors(page) == []
    context.close()
