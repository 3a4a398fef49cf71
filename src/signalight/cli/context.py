"""What every command shares: settings, the container, output and error handling."""

from __future__ import annotations

import functools
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from signalight.container import Container, build
from signalight.domain.errors import SignalightError
from signalight.settings import Settings

console = Console()
err_console = Console(stderr=True)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

P = ParamSpec("P")
R = TypeVar("R")


def configure_logging(level: str) -> None:
    """Log to stderr through rich; keep library chatter at warnings."""
    logging.basicConfig(
        level=level,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False)],
        force=True,
    )
    for noisy in ("alembic", "uvicorn.access", "timezonefinder"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def load_settings() -> Settings:
    """Settings from the environment, or a clear message and exit code 2."""
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            if error["loc"]:
                name = "SIGNALIGHT_" + "_".join(str(p) for p in error["loc"]).upper()
                err_console.print(f"[red]error:[/] {name}: {error['msg']}")
            else:  # a rule across settings: the message names them
                err_console.print(f"[red]error:[/] {error['msg']}")
        raise typer.Exit(2) from None


@contextmanager
def opened(settings: Settings | None = None) -> Iterator[Container]:
    """The container for one command, closed afterwards."""
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    container = build(settings)
    try:
        yield container
    finally:
        container.close()


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event that SIGTERM or SIGINT (Ctrl-C) sets while the block runs.

    A long-running command waits on the event and then stops in order (stores
    what it holds, acknowledges, closes) rather than dying mid-batch. The
    handlers that were there before come back when the block ends.

    Yields:
        The stop event.
    """
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {signum: signal.signal(signum, on_signal) for signum in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            # None: a handler not set from Python; the default is the nearest we can put back.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def friendly(func: Callable[P, R]) -> Callable[P, R]:
    """Print Signalight errors as one red line and exit 1, instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except SignalightError as exc:
            # One line, never wrapped at the terminal's width, so that a log keeps it whole;
            # escaped, as a message may quote input such as "[/x]" that rich reads as a tag.
            err_console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper
