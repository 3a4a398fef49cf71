"""A streetlight's schedule on its asset page, in headless Chromium, on a real server.

The collector streets follow a two-step profile through an assignment made
by the schedules service; the page must say so, draw the day's plan as the
API gives it, and let an operator (never a viewer) override the light and
end the override.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from signalight.adapters.mqtt_commands import MqttCommandLink
from signalight.adapters.mqtt_sim_nodes import MqttNodes
from signalight.domain.assignments import Scope
from signalight.domain.schedules import Anchor, Profile, Step
from signalight.domain.users import User
from signalight.sim.command_nodes import NodeFleet
from tests.conftest import unique
from tests.services.command_rig import LOCAL_PORT, wait_for
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

PHONE_NARROW = {"width": 360, "height": 740}
PROFILE = "Collector two-step"


def _user(site: ConsoleSite, name: str) -> User:
    """A test user as the services take one (through a token, as the API finds them)."""
    return site.container.auth.authenticate(site.container.auth.issue_token(name))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleSite]:
    """The seeded console; collector streets on a two-step profile, assigned by street class."""
    with console_site(tmp_path_factory.mktemp("schedule")) as running:
        admin = _user(running, "ada")
        profile = Profile(
            PROFILE,
            (
                Step(Anchor.SUNSET, 100.0, offset_min=5),
                Step(Anchor.CLOCK, 40.0, at=clock_time(23)),
                Step(Anchor.SUNRISE, 0.0, offset_min=-10),
            ),
        )
        schedules = running.container.schedules
        profile_id = schedules.add_profile(running.city, admin, profile)
        schedules.assign(running.city, admin, Scope.STREET_CLASS, "collector", profile_id)
        yield running


def _api(page: Page, site: ConsoleSite, path: str) -> Any:
    """What the API answers the signed-in user of the page (the same session cookie)."""
    response = page.context.request.get(f"{site.base_url}/api/v1/cities/{site.city.slug}{path}")
    assert response.ok, response.text()
    return response.json()


def _open(page: Page, site: ConsoleSite, code: str, user: str) -> None:
    sign_in(page, site, user, f"/c/{site.city.slug}/assets/{site.assets[code]}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(code)
    expect(page.locator("#schedule-nights")).to_be_visible()


def _spans(day: dict[str, Any]) -> list[str]:
    """The day's lit spans as the page writes them: "19:20", an en dash, "23:00: full"."""
    out = []
    for s in day["segments"]:
        end = s["end"][11:16] if s["end"][:10] == day["date"] else "24:00"
        level = "full" if s["level"] >= 100 else f"{s['level']:g} %"
        out.append(f"{s['start'][11:16]}\N{EN DASH}{end}: {level}")
    return out


def test_a_viewer_reads_the_plan_and_why_and_sees_no_override_button(
    site: ConsoleSite, browser: Browser
) -> None:
    otto = _user(site, "otto")
    made = site.container.schedules.add_override(
        site.city, otto, Scope.ASSET, "SL-002", mode="on", duration=timedelta(hours=1),
        reason="lamp test by the crew",
    )  # fmt: skip
    try:
        context, page = new_page(browser)
        _open(page, site, "SL-002", "vera")
        day = _api(page, site, "/assets/SL-002/schedule")
        nights = page.locator("#schedule-nights dd")
        expect(nights).to_have_count(2)
        for n, night in enumerate(day["nights"]):
            expect(nights.nth(n)).to_contain_text(PROFILE)
            expect(nights.nth(n)).to_contain_text(night["source"])
        assert day["nights"][1]["source"] == "assignment (street_class collector)"
        expect(page.locator("#schedule-segments li")).to_have_text(_spans(day))
        expect(page.locator("#schedule-sun")).to_contain_text(
            f"Sunrise {day['sun']['sunrise'][11:16]}, sunset {day['sun']['sunset'][11:16]}"
        )
        expect(page.locator(".timeline .tl-seg")).to_have_count(len(day["segments"]))
        # The override is shown, with who asked and why; a viewer may not end it or add one.
        listed = page.locator(f'[data-override="{made.id}"]')
        expect(listed).to_contain_text("by otto: lamp test by the crew")
        expect(listed).to_contain_text("in force now")
        expect(page.locator("#override-form")).to_have_count(0)
        expect(page.get_by_role("button", name="End override")).to_have_count(0)
        # The day before and after are read from the same address.
        page.get_by_role("button", name="Next day").click()
        tomorrow = page.locator("#schedule-day").input_value()
        assert tomorrow == _api(page, site, f"/assets/SL-002/schedule?date={tomorrow}")["date"]
        expect(page.locator(f'#schedule-nights dd[data-night="{tomorrow}"]')).to_be_visible()
        snap(page, "schedule-01-viewer")
        assert_accessible(page)
        assert page_errors(page) == []
        context.close()
    finally:
        site.container.schedules.end_override(site.city, otto, made.id)


def test_an_operator_overrides_a_light_sees_it_in_the_plan_and_ends_it(
    site: ConsoleSite, browser: Browser
) -> None:
    context, page = new_page(browser, PHONE_NARROW)
    _open(page, site, "SL-001", "otto")
    before = _api(page, site, "/assets/SL-001/schedule")
    assert not before["overrides"]
    form = page.locator("#override-form")
    form.get_by_label("Switch").select_option("level")
    form.get_by_label("Level (%)").fill("30")
    form.get_by_label("For").select_option("120")
    form.get_by_role("button", name="Override the light").click()
    expect(form.locator(".form-error")).to_have_text("Say why the light is overridden.")
    form.get_by_label("Reason").fill("glare complaint on Jalan 1")
    form.get_by_role("button", name="Override the light").click()
    expect(page.locator("#status")).to_contain_text("set until")

    # The plan now holds the override: the API's and the page's spans agree, one at 30 %.
    after = _api(page, site, "/assets/SL-001/schedule")
    (override,) = after["overrides"]
    assert override["level"] == 30
    assert override["by"] == "otto"
    assert override["scope"] == "asset"
    expect(page.locator("#schedule-segments li")).to_have_text(_spans(after))
    expect(page.locator('#schedule-segments li[data-level="30"]')).to_have_count(1)
    listed = page.locator(f'[data-override="{override["id"]}"]')
    expect(listed).to_contain_text("On at 30 %")
    expect(listed).to_contain_text("glare complaint on Jalan 1")
    expect(listed).to_have_attribute("data-active", "true")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE_NARROW["width"], width
    snap(page, "schedule-02-operator-override")
    assert_accessible(page)

    # Ended: no longer in force; the plan keeps only the seconds it ran, as the API says.
    page.get_by_role("button", name=f"End override {override['id']}").click()
    expect(listed).to_have_attribute("data-active", "false")
    ended = _api(page, site, "/assets/SL-001/schedule")
    assert not any(o["active"] for o in ended["overrides"])
    ran = [s for s in ended["segments"] if s["level"] == 30]
    assert all(
        datetime.fromisoformat(s["end"]) - datetime.fromisoformat(s["start"]) < timedelta(minutes=5)
        for s in ran
    )
    expect(page.locator("#schedule-segments li")).to_have_text(_spans(ended))
    expect(page.get_by_role("button", name="End override")).to_have_count(0)
    assert page_errors(page) == []
    context.close()


@pytest.fixture
def nodes(site: ConsoleSite) -> Iterator[MqttCommandLink]:
    """The site's command service linked to the machine's Mosquitto, and nodes that obey.

    The link is what `signalight command serve` runs; the nodes are the
    simulator's, answering on their own topics. Each test dispatches itself.
    """
    service = site.container.commands
    link = MqttCommandLink(
        "127.0.0.1", LOCAL_PORT, None, None, service.router.filters(),
        client_id=unique("console-commands"), timeout=5.0,
    )  # fmt: skip
    fleet = NodeFleet()
    mqtt_nodes = MqttNodes(LOCAL_PORT, site.city.slug, fleet, client_id=unique("console-nodes"))
    mqtt_nodes.start()
    link.start(service.handle_answers)
    try:
        assert link.wait_connected(5)
        assert wait_for(mqtt_nodes.connected.is_set, 5)
        time.sleep(0.2)  # the subscriptions' SUBACKs
        yield link
    finally:
        link.stop()
        mqtt_nodes.stop()


def test_an_operator_dims_the_light_now_and_sees_it_acknowledged_by_the_node(
    site: ConsoleSite, browser: Browser, nodes: MqttCommandLink
) -> None:
    context, page = new_page(browser)
    _open(page, site, "SL-003", "otto")
    form = page.locator("#command-form")
    form.get_by_label("Command").select_option("dim")
    form.get_by_label("Level (%)").fill("40")
    form.get_by_label("Why (optional)").fill("checking the driver")
    form.get_by_role("button", name="Send to the light now").click()
    state = page.locator("#command-state")
    expect(state).to_have_attribute("data-state", "queued")
    expect(state).to_have_text("Dim to 40 %: queued: waiting to go out.")
    command_id = state.get_attribute("data-command")
    assert command_id

    # The dispatcher's round publishes it; the node answers over the broker; the page follows.
    assert site.container.commands.dispatch(nodes).sent == 1
    expect(state).to_have_attribute("data-state", "acknowledged", timeout=15_000)
    expect(state).to_have_text("Dim to 40 %: acknowledged by the light.")
    command = _api(page, site, f"/commands/{command_id}")
    assert command["state"] == "acknowledged"
    assert command["device"] == "node-003"
    assert command["args"] == {"level": 40}
    assert command["requested_by"] == "otto"
    snap(page, "schedule-03-command-acknowledged")
    assert_accessible(page)
    assert page_errors(page) == []
    context.close()


def test_a_crew_member_may_only_switch_and_a_viewer_may_not_command(
    site: ConsoleSite, browser: Browser
) -> None:
    context, page = new_page(browser)
    _open(page, site, "SL-004", "carl")
    options = page.locator("#command-form select[name=action] option")
    expect(options).to_have_text(["Switch on", "Switch off"])
    expect(page.locator("#override-form")).to_have_count(0)
    context.close()
    context, page = new_page(browser)
    _open(page, site, "SL-004", "vera")
    expect(page.locator("#command-form")).to_have_count(0)
    expect(page.get_by_role("button", name="Send to the light now")).to_have_count(0)
    context.close()
