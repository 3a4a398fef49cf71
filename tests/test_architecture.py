"""The rings of the architecture hold: imports point inward, and the domain does no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "signalight"

# What each ring may not import (by module-name prefix).
FORBIDDEN = {
    "domain": (
        "signalight.adapters", "signalight.api", "signalight.cli", "signalight.services",
        "signalight.web", "signalight.sim", "signalight.container", "signalight.codecs",
        "sqlalchemy", "fastapi", "starlette", "psycopg", "sqlite3", "asyncio", "socket",
        "typer", "httpx", "uvicorn", "alembic",
    ),
    "codecs": (
        "signalight.adapters", "signalight.api", "signalight.cli", "signalight.services",
        "sqlalchemy", "fastapi", "psycopg", "asyncio", "socket", "typer",
    ),
    "services": ("signalight.adapters", "signalight.api", "signalight.cli", "fastapi", "typer"),
    "adapters": ("signalight.api", "signalight.cli", "signalight.services", "fastapi", "typer"),
    "consumers": ("signalight.api", "signalight.cli", "signalight.web", "fastapi", "typer"),
    "sim": ("signalight.adapters", "signalight.api", "signalight.cli", "sqlalchemy", "fastapi"),
}  # fmt: skip


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("ring", sorted(FORBIDDEN))
def test_ring_imports_point_inward(ring: str) -> None:
    modules = sorted((PACKAGE / ring).rglob("*.py"))
    assert modules, f"no modules under {ring}/"
    offences = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in modules
        for name in imports_of(path)
        if name.startswith(FORBIDDEN[ring])
    ]
    assert offences == []


def test_every_module_says_what_it_is_for() -> None:
    missing = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if "migrations" not in path.parts and not ast.get_docstring(ast.parse(path.read_text()))
    ]
    assert missing == []


def test_public_entry_points() -> None:
    import tomllib

    from signalight.cli.main import app

    project = tomllib.loads((PACKAGE.parents[1] / "pyproject.toml").read_text())
    assert project["project"]["scripts"] == {"signalight": "signalight.cli.main:run"}
    names = {
        command.name or (command.callback.__name__ if command.callback else "")
        for command in app.registered_commands
    }
    assert {"demo", "serve", "import", "export", "imports", "generate", "info"} <= names
    groups = {group.name for group in app.registered_groups}
    assert groups == {"city", "user", "device"}
