"""The API docs at /docs in a real headless Chromium: Swagger UI renders the OpenAPI 3.1 spec."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import APIRequestContext, Browser, ConsoleMessage, Request, expect

from signalight.adapters.sql.database import SqlDatabase
from signalight.container import Container
from signalight.settings import Settings
from tests.web.browser import serve

pytestmark = pytest.mark.browser

SCREENSHOT = Path("/tmp/signalight-docs.png")  # noqa: S108 - a fixed place to look at
TIMEOUT_MS = 20_000
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("docs")
    url = f"sqlite:///{tmp / 'docs.db'}"
    db = SqlDatabase.connect(url)
    db.migrate()
    try:
        with serve(Container(Settings(data_dir=tmp, database_url=url), db)) as base:
            yield base
    finally:
        db.close()


def _operations(http: APIRequestContext, base_url: str) -> list[tuple[str, str]]:
    """Every (METHOD, path) the served spec declares."""
    spec = http.get(f"{base_url}/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    return [
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    ]


def test_the_docs_list_every_operation_from_local_files(base_url: str, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    operations = _operations(context.request, base_url)
    assert ("GET", "/api/v1/cities/{city}/assets") in operations
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    requests: list[Request] = []
    errors: list[str] = []

    def on_request(request: Request) -> None:
        requests.append(request)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("request", on_request)
    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{base_url}/docs")
        assets = page.locator(
            '.opblock-get .opblock-summary-path[data-path="/api/v1/cities/{city}/assets"]'
        )
        expect(assets).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.locator(".opblock")).to_have_count(len(operations))
        expect(page.locator(".info .title")).to_contain_text("Signalight")
        expect(page.get_by_text("Unable to render this definition")).to_have_count(0)

        # Opening an operation shows its parameters, rendered from the 3.1 schema.
        assets.click()
        expect(page.locator(".opblock.is-open .parameters")).to_contain_text("bbox")
        page.screenshot(path=SCREENSHOT, full_page=False)

        assert errors == []
        foreign = [r.url for r in requests if not r.url.startswith(f"{base_url}/")]
        assert foreign == []
        # Headless Chromium fetches no favicon, so the test asks for the one the page names.
        icon = page.locator("link[rel~=icon]").get_attribute("href")
        assert icon == "/favicon.ico"
        answer = context.request.get(f"{base_url}{icon}")
        assert answer.ok
        assert answer.body().startswith(b"\x00\x00\x01\x00")  # an ICO file
    finally:
        context.close()
