"""`signalight notify` is a command, and `serve` runs the notifier unless told not to."""

from __future__ import annotations

from signalight.cli.main import app
from signalight.cli.notify import start_in_process
from signalight.container import Container


def test_notify_is_a_command() -> None:
    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    assert "notify" in names


def test_serve_leaves_the_notifier_off_when_told(container: Container) -> None:
    container.settings.notify = False
    stop = start_in_process(container)
    stop()
    assert "notifier" not in container.__dict__  # never even built


def test_serve_runs_the_notifier_in_a_thread(container: Container) -> None:
    container.settings.notify_interval_s = 0.05
    stop = start_in_process(container)
    thread = container.notifier._thread
    try:
        assert thread is not None
        assert thread.is_alive()
        assert thread.daemon
    finally:
        stop()
    assert not thread.is_alive()
