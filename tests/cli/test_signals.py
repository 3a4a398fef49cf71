"""Ctrl-C and SIGTERM stop the long-running commands through one helper."""

from __future__ import annotations

import ast
import os
import signal
from pathlib import Path

import pytest

from signalight.cli.context import stop_on_signals

CLI = Path(__file__).resolve().parents[2] / "src" / "signalight" / "cli"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_sets_the_stop_event_and_the_old_handler_comes_back(signum: int) -> None:
    before = signal.getsignal(signum)
    with stop_on_signals() as stop:
        assert not stop.is_set()
        os.kill(os.getpid(), signum)
        # Python runs the handler between bytecodes of the main thread; wait with a deadline.
        assert stop.wait(5.0)
    assert signal.getsignal(signum) is before


def test_no_command_installs_signal_handlers_of_its_own() -> None:
    callers = {
        path.name
        for path in CLI.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute)
        and node.attr == "signal"
        and isinstance(node.value, ast.Name)
        and node.value.id == "signal"
    }
    assert callers == {"context.py"}
