"""`signalight notify`: the notifier on its own; and the notifier thread `serve` runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from signalight.cli.context import console, friendly, opened, stop_on_signals

if TYPE_CHECKING:
    from signalight.container import Container


@friendly
def notify() -> None:
    """Send alarm notifications, escalations and reminders until stopped (Ctrl-C, SIGTERM).

    Run it when `signalight serve` runs with SIGNALIGHT_NOTIFY=false. Of
    several notifiers on one database, one sends at a time (a lease), so a
    second one is a standby, not a duplicate.
    """
    with opened() as container, stop_on_signals() as stop:
        console.print(_describe(container), soft_wrap=True)
        container.notifier.run(stop)


def start_in_process(container: Container) -> Callable[[], None]:
    """Start the notifier thread unless SIGNALIGHT_NOTIFY=false; returns what stops it."""
    if not container.settings.notify:
        return lambda: None
    notifier = container.notifier
    notifier.start()
    console.print(_describe(container), soft_wrap=True)
    return notifier.stop


def _describe(container: Container) -> str:
    settings = container.settings
    mail = (
        f"e-mail via {settings.smtp_host}:{settings.smtp_port}"
        if settings.smtp_host
        else "no e-mail"
    )
    return (
        f"notify: following alarm events in {container.db.url} every"
        f" {settings.notify_interval_s:g} s; webhooks, {mail}"
    )
