"""`signalight network add|join|grant|list` against the embedded database."""

from __future__ import annotations

from pathlib import Path

from signalight.adapters.sql.database import SqlDatabase
from signalight.adapters.sql.networks import SqlNetworkStore
from signalight.domain.users import User
from tests.cli.cli_rig import run


def _networks_of(env: Path, username: str) -> list[tuple[str, str]]:
    db = SqlDatabase.connect(f"sqlite:///{env / 'data' / 'signalight.db'}")
    try:
        user: User = db.users.get_user(username)[0]
        return [(n.slug, str(r)) for n, r in SqlNetworkStore(db.engine).roles_of(user.id)]
    finally:
        db.close()


def test_add_join_grant_and_list(env: Path) -> None:
    for args in (
        ("city", "add", "Seberang Perai", "--country", "MY", "--lat", "5.38", "--lon", "100.4"),
        ("city", "add", "George Town", "--country", "MY", "--lat", "5.41", "--lon", "100.33"),
        ("user", "add", "aisha"),
    ):
        code, out, err = run(*args)
        assert code == 0, out + err
    code, out, _ = run("network", "add", "wego", "--name", "WeGO pilot")
    assert (code, out.strip()) == (0, "added network wego (WeGO pilot)")
    joined = run("network", "join", "wego", "seberang-perai")[1].strip()
    assert joined == "seberang-perai joined wego"
    assert run("network", "join", "wego", "george-town")[0] == 0
    again = run("network", "join", "wego", "george-town")[1].strip()
    assert again == "george-town was already in wego"
    code, out, _ = run("network", "grant", "wego", "aisha", "--role", "viewer")
    assert (code, out.strip()) == (0, "aisha: viewer in network wego")
    assert _networks_of(env, "aisha") == [("wego", "viewer")]
    code, out, _ = run("network", "list")
    line = next(line for line in out.splitlines() if "wego" in line)
    assert "WeGO pilot" in line
    assert "george-town, seberang-perai" in line or "seberang-perai, george-town" in line
    run("network", "grant", "wego", "aisha")
    assert _networks_of(env, "aisha") == []


def test_mistakes_are_told_plainly(env: Path) -> None:
    assert run("network", "add", "wego", "--name", "WeGO")[0] == 0
    code, out, err = run("network", "add", "wego", "--name", "again")
    assert code != 0
    assert "exists already" in out + err
    code, out, err = run("network", "join", "nowhere", "x")
    assert code != 0
    assert "no network 'nowhere'" in out + err
