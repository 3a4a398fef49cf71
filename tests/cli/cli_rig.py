"""The `signalight` command run in-process, as the CLI tests run it."""

from __future__ import annotations

from typer.testing import CliRunner

from signalight.cli.main import app

__all__ = ["run"]

runner = CliRunner()


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """Exit code, standard output and standard error of ``signalight ARGS...``."""
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr
