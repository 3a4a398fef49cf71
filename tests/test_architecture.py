"""The rings of the architecture hold: imports point inward, and the inner rings do no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "signalight"

# The drivers of the outside world: only adapters/ (and the entry points that
# start them) may import these, so the domain and the use cases stay testable
# with plain values and in-memory ports.
DRIVERS = ("sqlalchemy", "alembic", "psycopg", "sqlite3", "paho", "aiomqtt")

# What each ring may not import (by module name, a package with its modules).
FORBIDDEN = {
    "domain": (
        "signalight.adapters", "signalight.api", "signalight.cli", "signalight.services",
        "signalight.web", "signalight.sim", "signalight.container", "signalight.codecs",
        "signalight.ports", "signalight.consumers", "signalight.settings",
        *DRIVERS, "fastapi", "starlette", "asyncio", "socket", "typer", "httpx", "uvicorn",
    ),
    # The Protocols the services need, in terms of the domain only.
    "ports": (
        "signalight.adapters", "signalight.api", "signalight.cli", "signalight.services",
        "signalight.web", "signalight.sim", "signalight.container", "signalight.codecs",
        "signalight.consumers", "signalight.settings",
        *DRIVERS, "fastapi", "starlette", "socket", "typer", "httpx", "uvicorn",
    ),
    "codecs": (
        "signalight.adapters", "signalight.api", "signalight.cli", "signalight.services",
        *DRIVERS, "fastapi", "asyncio", "socket", "typer",
    ),
    "services": (
        "signalight.adapters", "signalight.api", "signalight.cli", "signalight.consumers",
        "signalight.web", *DRIVERS, "fastapi", "typer",
    ),
    "adapters": ("signalight.api", "signalight.cli", "signalight.services", "fastapi", "typer"),
    "consumers": ("signalight.api", "signalight.cli", "signalight.web", "fastapi", "typer"),
    "sim": ("signalight.adapters", "signalight.api", "signalight.cli", "sqlalchemy", "fastapi"),
    # An entry point: it calls services (the container builds them), never the
    # database or the broker's client itself.
    "api": (
        "signalight.adapters.sql", "signalight.cli", "signalight.consumers", "signalight.sim",
        *DRIVERS, "typer",
    ),
}  # fmt: skip


def modules_of(ring: str) -> list[Path]:
    """The ring's modules: a package (``ports/``) or a single module (``ports.py``)."""
    package, module = PACKAGE / ring, PACKAGE / f"{ring}.py"
    if package.is_dir():
        return sorted(package.rglob("*.py"))
    return [module] if module.is_file() else []


def imports_of(path: Path) -> set[str]:
    """Every module a file imports by absolute name, in functions and TYPE_CHECKING too.

    ``from package import name`` counts as importing ``package.name`` as well,
    since the name may be a module (``from signalight import adapters``).
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def relative_imports_of(path: Path) -> list[str]:
    """The file's relative imports, as written."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"from {'.' * node.level}{node.module or ''} import "
        + ", ".join(alias.name for alias in node.names)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level > 0
    ]


def breaks(name: str, forbidden: tuple[str, ...]) -> bool:
    """Whether ``name`` is one of the forbidden modules or inside one."""
    return any(name == banned or name.startswith(f"{banned}.") for banned in forbidden)


@pytest.mark.parametrize("ring", sorted(FORBIDDEN))
def test_ring_imports_point_inward(ring: str) -> None:
    modules = modules_of(ring)
    assert modules, f"no modules in {ring}"
    offences = sorted(
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in modules
        for name in imports_of(path)
        if breaks(name, FORBIDDEN[ring])
    )
    assert offences == []


def test_imports_are_absolute() -> None:
    # A relative import hides which ring a module reaches into, from readers
    # and from the checks above.
    relative = [
        f"{path.relative_to(PACKAGE)}: {line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line in relative_imports_of(path)
    ]
    assert relative == []


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
    assert groups == {
        "city", "user", "device", "network", "workorder", "window", "signals", "command",
        "schedule", "energy",
    }  # fmt: skip


def test_the_import_reader_sees_relative_and_package_imports(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text(
        "from signalight import adapters\n"
        "from . import sibling\n"
        "from ..rings import inner\n"
        "def late() -> None:\n"
        "    import paho.mqtt.client\n"
    )
    names = imports_of(module)
    assert {"signalight.adapters", "paho.mqtt.client"} <= names
    assert relative_imports_of(module) == ["from . import sibling", "from ..rings import inner"]
    assert breaks("signalight.adapters", ("signalight.adapters",))
    assert breaks("signalight.adapters.sql.engine", ("signalight.adapters",))
    assert not breaks("signalight.simulation", ("signalight.sim",))
