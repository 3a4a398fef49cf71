"""`signalight user` for accounts: tokens listed and revoked, disable, enable, remove, audit."""

from __future__ import annotations

import getpass
from datetime import timedelta
from pathlib import Path

from signalight.adapters.clock import SystemClock
from signalight.adapters.sql.database import SqlDatabase
from signalight.domain.errors import AuthenticationError
from signalight.services.auth import AuthService
from tests.cli.cli_rig import run


def _works(env: Path, token: str) -> bool:
    db = SqlDatabase.connect(f"sqlite:///{env / 'data' / 'signalight.db'}")
    try:
        AuthService(db.users, SystemClock(), token_ttl_days=0).authenticate(token)
    except AuthenticationError:
        return False
    finally:
        db.close()
    return True


def _row(out: str, needle: str) -> list[str]:
    line = next(line for line in out.splitlines() if needle in line)
    return [cell.strip() for cell in line.strip(" │|").split("│")]


def test_tokens_are_listed_and_revoked_one_at_a_time(env: Path) -> None:
    assert run("city", "add", "Ipoh", "--country", "MY")[0] == 0
    first = run("user", "add", "ops", "--city", "ipoh", "--role", "operator")[1].strip()
    second = run("user", "token", "ops", "--label", "ci runner")[1].strip()

    code, out, err = run("user", "tokens", "ops")
    assert code == 0, err
    # Never shown again.
    assert first not in out
    assert second not in out
    ci = _row(out, "ci runner")
    assert ci[0] == "2"
    assert ci[-1] == "active"

    code, out, err = run("user", "revoke", "ops", "2")
    assert code == 0, err
    assert "token 2 revoked" in out
    assert not _works(env, second)
    assert _works(env, first)
    assert _row(run("user", "tokens", "ops")[1], "ci runner")[-1] == "revoked"

    code, _, err = run("user", "revoke", "ops", "99")
    assert code == 1
    assert "no token 99" in err


def test_disable_enable_remove_and_the_audit(env: Path) -> None:
    assert run("city", "add", "Ipoh", "--country", "MY")[0] == 0
    token = run("user", "add", "crew1", "--city", "ipoh", "--role", "crew")[1].strip()

    assert run("user", "disable", "crew1")[0] == 0
    assert not _works(env, token)
    assert _row(run("user", "list")[1], "crew1")[1] == "disabled"
    assert run("user", "enable", "crew1")[0] == 0
    assert _works(env, token)
    assert _row(run("user", "list", "--city", "ipoh")[1], "crew1")[1:] == [
        "enabled",
        "crew in ipoh",
    ]

    code, _, _ = run("user", "remove", "crew1", stdin="n\n")
    assert code == 1  # not confirmed: nothing removed
    assert _works(env, token)
    code, _, err = run("user", "remove", "crew1", "--yes")
    assert code == 0, err
    assert not _works(env, token)
    assert "crew1" not in run("user", "list")[1]

    code, out, err = run("user", "audit", "--city", "ipoh")
    assert code == 0, err
    rows = [_row(out, line) for line in out.splitlines() if "crew1" in line]
    # Newest first; the user's creation concerns no city yet, so only the full log has it.
    assert [row[3] for row in rows] == [
        "user.removed",
        "user.enabled",
        "user.disabled",
        "token.issued",
        "role.set",
    ]
    assert {row[2] for row in rows} == {f"cli:{getpass.getuser()}"}
    assert "user.added" in run("user", "audit")[1]


def _session(env: Path, username: str, password: str) -> str | None:
    """A browser session's token for the password, or None if it is refused."""
    db = SqlDatabase.connect(f"sqlite:///{env / 'data' / 'signalight.db'}")
    try:
        auth = AuthService(db.users, SystemClock(), token_ttl_days=0)
        return auth.start_session(username, password, "127.0.0.1", lifetime=timedelta(hours=1))
    except AuthenticationError:
        return None
    finally:
        db.close()


def test_a_new_password_replaces_the_old_and_ends_the_browser_sessions(env: Path) -> None:
    assert run("city", "add", "Ipoh", "--country", "MY")[0] == 0
    old, new = "the first long password", "the second long password"
    token = run(
        "user",
        "add",
        "op1",
        "--city",
        "ipoh",
        "--role",
        "operator",
        "--password-stdin",
        stdin=old + "\n",
    )[1].strip()
    session = _session(env, "op1", old)
    assert session is not None

    code, _, err = run("user", "password", "op1", stdin="too short\n")
    assert code != 0
    assert "at least 12 characters" in err

    code, _, err = run("user", "password", "op1", stdin=new + "\n")
    assert code == 0, err
    assert "1 browser session(s) ended" in err
    assert not _works(env, session)
    assert _works(env, token)  # API tokens are not the password's
    assert _session(env, "op1", old) is None
    assert _session(env, "op1", new) is not None
    out = run("user", "audit", "--city", "ipoh")[1]
    assert "password.set" in out
