"""Every route of the app: tenant isolation in the shared dependency, and a row in docs/api.md."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from signalight.adapters.sql.database import SqlDatabase
from signalight.api.app import API_PREFIX, create_app
from signalight.api.deps import AdminCity, OperatorCity, ReadableCity
from signalight.container import Container
from signalight.settings import Settings

API_DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"

# The callables behind the shared city dependencies of api/deps.py, taken from
# the Annotated types the routers use, so a look-alike copy does not count.
CITY_DEPENDENCIES: frozenset[Callable[..., Any]] = frozenset(
    get_args(annotated)[1].dependency for annotated in (ReadableCity, OperatorCity, AdminCity)
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The whole application over an empty SQLite file; no request reaches it."""
    data = tmp_path_factory.mktemp("routes")
    db = SqlDatabase.connect(f"sqlite:///{data / 'signalight.db'}")
    yield create_app(Container(Settings(data_dir=data, retention_days=0), db))
    db.close()


# The HTML pages: not resources of the API, so not in docs/api.md (README.md names them).
PAGES = frozenset({"/", "/favicon.ico", "/docs"})


def api_routes(app: FastAPI) -> list[RouteContext]:
    """Every operation the app serves but its pages, with the paths and dependencies in force.

    FastAPI includes routers lazily: ``app.routes`` holds the included
    routers, and ``iter_route_contexts`` walks down to each route as mounted
    (its prefix and the router's dependencies applied).
    """
    return [
        context
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.path not in PAGES
    ]


def calls(dependant: Dependant) -> Iterator[Callable[..., Any] | None]:
    """Every dependency's callable in a route's dependency tree, depth first."""
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from calls(dependency)


def test_the_shared_city_dependencies_are_three() -> None:
    assert len(CITY_DEPENDENCIES) == 3
    assert None not in CITY_DEPENDENCIES


def test_every_city_route_resolves_the_city_through_api_deps(app: FastAPI) -> None:
    city_routes = [route for route in api_routes(app) if "{city}" in (route.path or "")]
    assert len(city_routes) > 20  # the walk reached into the included routers
    missing = [
        f"{sorted(route.methods or ())} {route.path}"
        for route in city_routes
        if not CITY_DEPENDENCIES.intersection(calls(route.dependant))
    ]
    assert missing == []


# --- docs/api.md ---------------------------------------------------------------------------

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_ITEM = re.compile(r"`([^`]+)`")
_PARAM = re.compile(r"\{[^}]*\}")


def normal(path: str) -> str:
    """A path with its query left out and every path parameter written ``{}``."""
    return _PARAM.sub("{}", path.split("?", 1)[0])


def documented(text: str) -> set[tuple[str, str]]:
    """(method, path) of each operation in the first column of docs/api.md's tables.

    A cell may name several: ``POST /a/{x}/disable``, ``.../enable`` is two
    POSTs, the second with the last step of the first's path replaced.
    """
    found: set[tuple[str, str]] = set()
    for line in text.splitlines():
        if not line.startswith("| `"):
            continue
        method, path = "", ""
        for item in _ITEM.findall(line.split(" | ", 1)[0]):
            word, _, rest = item.partition(" ")
            if word in METHODS:
                method, path = word, rest
            elif item.startswith(".../") and path:
                path = path.rsplit("/", 1)[0] + item[3:]
            else:
                continue
            found.add((method, normal(path)))
    return found


def served(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of each API operation, its path as docs/api.md writes it."""
    return {
        (method, normal((route.path or "").removeprefix(API_PREFIX)))
        for route in api_routes(app)
        for method in route.methods or ()
    }


def test_the_docs_table_reader_reads_the_shorthands() -> None:
    table = (
        "| `GET /cities/{city}/alarms?type=&state=` | viewer | ... |\n"
        "| `POST /cities/{city}/users/{name}/disable`, `.../enable` | admin | ... |\n"
        "| 401 | `unauthenticated` | no token |\n"
    )
    assert documented(table) == {
        ("GET", "/cities/{}/alarms"),
        ("POST", "/cities/{}/users/{}/disable"),
        ("POST", "/cities/{}/users/{}/enable"),
    }


def test_every_route_is_in_the_docs_tables(app: FastAPI) -> None:
    missing = served(app) - documented(API_DOCS.read_text())
    assert sorted(missing) == []


def test_the_docs_tables_name_only_routes_that_exist(app: FastAPI) -> None:
    stale = documented(API_DOCS.read_text()) - served(app)
    assert sorted(stale) == []
