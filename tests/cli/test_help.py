"""Every command and subcommand of `signalight` prints its help, found from the command tree."""

from __future__ import annotations

import pytest
import typer.core
import typer.main
from typer.testing import CliRunner

from signalight.cli.main import app

runner = CliRunner()


def command_paths(command: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The path of ``command`` and of every command below it, walked from click's tree."""
    paths = [path]
    # Typer keeps its own copy of click: a group is a TyperGroup, not a click.Group.
    if isinstance(command, typer.core.TyperGroup):
        for name, sub in sorted(command.commands.items()):
            paths.extend(command_paths(sub, (*path, name)))
    return paths


PATHS = command_paths(typer.main.get_command(app))


def test_the_tree_holds_the_groups_and_their_subcommands() -> None:
    # So that a change in how the tree is walked cannot leave the test below empty.
    assert ("simulate",) in PATHS
    assert ("city", "add") in PATHS
    assert ("device", "broker-files") in PATHS
    assert len(PATHS) > 20


@pytest.mark.parametrize("path", PATHS, ids=lambda path: " ".join(path) or "signalight")
def test_help_prints_the_usage(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
    assert " ".join(path) in result.stdout.split("Usage:", 1)[1].splitlines()[0]


def test_simulate_help_shows_the_bracketed_duration_as_written() -> None:
    # Wide enough that the option's help is not cut short with an ellipsis.
    result = runner.invoke(app, ["simulate", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "TYPE:ASSET@WHEN[/DURATION]" in result.stdout
