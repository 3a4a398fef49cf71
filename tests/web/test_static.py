"""The files the pages need come with the package: the favicon and the vendored Swagger UI."""

from __future__ import annotations

import struct
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from signalight.adapters.sql.database import SqlDatabase
from signalight.api.app import create_app
from signalight.container import Container
from signalight.settings import Settings
from signalight.web import pages

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "signalight"


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    url = f"sqlite:///{tmp_path / 'static.db'}"
    db = SqlDatabase.connect(url)
    db.migrate()
    yield Container(Settings(data_dir=tmp_path, database_url=url), db)
    db.close()


def test_the_favicon_is_an_icon_of_the_package(container: Container) -> None:
    with TestClient(create_app(container)) as client:
        answer = client.get("/favicon.ico")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/vnd.microsoft.icon"
    reserved, kind, count = struct.unpack("<HHH", answer.content[:6])
    assert (reserved, kind) == (0, 1)  # an ICO file
    sizes = {answer.content[6 + 16 * n] for n in range(count)}
    assert {16, 32} <= sizes


def test_swagger_ui_5_is_vendored_and_served(container: Container) -> None:
    bundle = pages.SWAGGER_UI / "swagger-ui-bundle.js"
    assert bundle.is_file(), "run `make install`: it copies Swagger UI from npm"
    lock = (ROOT / "web" / "package-lock.json").read_text()
    assert '"node_modules/swagger-ui-dist": {\n      "version": "5.' in lock
    with TestClient(create_app(container)) as client:
        docs = client.get("/docs")
        served = client.get("/static/swagger/swagger-ui-bundle.js")
        css = client.get("/static/swagger/swagger-ui.css")
    assert docs.status_code == 200
    assert served.content == bundle.read_bytes()
    assert css.status_code == 200
    assert 'rel="shortcut icon" href="/favicon.ico"' in docs.text


def test_the_package_data_takes_the_vendored_files() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["signalight"]
    # Every file of the console and its libraries, at whatever depth.
    shipped = [
        path.relative_to(PACKAGE).as_posix()
        for path in pages.STATIC.rglob("*")
        if path.is_file() and path.name != ".installed-stamp"
    ]
    assert "web/static/vendor/maplibre/maplibre-gl-csp.js" in shipped
    assert "web/static/console/pages/map.js" in shipped
    # setuptools expands each pattern as glob does: `*` stays within a folder.
    taken = {path.relative_to(PACKAGE).as_posix() for p in patterns for path in PACKAGE.glob(p)}
    assert set(shipped) <= taken


def test_docs_not_built_say_how_to_build_them(
    container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "SWAGGER_UI", tmp_path / "no-swagger-here")
    with TestClient(create_app(container)) as client:
        docs = client.get("/docs")
        spec = client.get("/api/v1/openapi.json")
    assert docs.status_code == 503
    assert "make install" in docs.text
    assert "/api/v1/openapi.json" in docs.text
    assert spec.status_code == 200


def test_the_console_policy_lets_in_only_a_configured_base_map(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'csp.db'}"
    db = SqlDatabase.connect(url)
    db.migrate()
    try:
        for style, origin in (
            ("", None),
            ("https://tiles.example.org/styles/city.json", "https://tiles.example.org"),
        ):
            settings = Settings(data_dir=tmp_path, database_url=url, map_style_url=style)
            with TestClient(create_app(Container(settings, db))) as client:
                page = client.get("/")
                config = client.get("/console/config.json").json()
            policy = page.headers["content-security-policy"]
            assert config == {"map_style_url": style}
            assert "script-src 'self';" in policy
            assert "frame-ancestors 'none'" in policy
            sources = policy.split("connect-src ")[1].split(";")[0].split()
            assert sources == (["'self'", origin] if origin else ["'self'"])
    finally:
        db.close()


@pytest.mark.parametrize("style", ["javascript:alert(1)", "ftp://x/style.json", "https://a b"])
def test_a_base_map_that_is_not_a_web_address_is_refused(style: str) -> None:
    with pytest.raises(ValueError, match="map_style_url"):
        Settings(map_style_url=style)
