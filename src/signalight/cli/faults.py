"""`signalight score`: the alarms of a city scored against a simulator's ground truth."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Final

import orjson
import typer
from rich import box
from rich.table import Table

from signalight.cli.context import console, friendly, opened
from signalight.domain.errors import InvalidInputError
from signalight.domain.faults import DetectionSettings
from signalight.services import scoring
from signalight.sim.faults import parse_time
from signalight.sim.truth import read_truth


def _seconds(value: object) -> str:
    if not isinstance(value, int | float):
        return "-"
    return f"{value / 60:.1f} min" if value >= 600 else f"{value:.0f} s"  # noqa: PLR2004


def _share(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else "-"


TIME_HEADERS: Final = ("from start: median / p95", "from visible: median / p95")
TIME_PAIRS: Final = (("ttd_median_s", "ttd_p95_s"), ("visible_median_s", "visible_p95_s"))
LEGEND: Final = (
    "expected: observable long enough for its rule, or caught; detected: expected and"
    " caught by an alarm; true: alarms that match a fault; from start / from visible:"
    " time to detect from the fault's start / from when it could first be seen."
    " Every column: signalight score --help"
)


@friendly
def score(
    city: Annotated[str, typer.Option(help="City slug")],
    truth: Annotated[Path, typer.Option(help="The simulator's ground-truth JSON lines")],
    since: Annotated[
        str | None,
        typer.Option("--from", help="Start of the run: ISO time or -SPAN (default: first fault)"),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="End of the run: ISO time or -SPAN (default: now)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")] = False,
    check: Annotated[
        bool, typer.Option(help="Exit 1 unless every type has recall and precision >= 0.98")
    ] = False,
) -> None:
    """Score a city's alarms against the ground truth: recall, precision, time to detect.

    Run it after the simulated faults have had time to show (docs/faults.md,
    Scoring, says what counts as expected and how times are measured). One row
    per fault type, in two tables:

    type: the fault type, named as the ground truth and the alarm name it.
    faults: faults of the type in the ground truth that started in the window.
    expected: those observable long enough for their rule (or caught anyway).
    detected: expected faults an alarm of their type caught on their asset.
    recall: detected / expected.
    alarms: alarms of the type raised or reopened in the window (held ones apart).
    true: those that match a fault of their type on their asset (or its cabinet's supply).
    precision: true / alarms.
    from start: median / p95, time from a detected fault's start to its alarm.
    from visible: median / p95, time from when it could first be seen to its alarm.
    interval: the reporting interval of the type's devices (signal_monitor for
    the signal types), as the rules assume it.
    p95 / max: time to detect from visible, in those intervals.

    Below them: outages: the supplyLoss row's expected; incidents: supplyLoss
    alarms matched to them (one each); lamp or silence alarms raised on lights
    while their cabinet was dark (none); alarms held under incidents; crews'
    door openings in their windows, and the break-in alarms they drew (none).
    """
    if not truth.is_file():
        raise InvalidInputError(f"no ground-truth file at {truth}")
    now = datetime.now(UTC)
    with opened() as container:
        target = container.cities.get(city)
        truths = scoring.truths_of(read_truth(truth), target.slug)
        overrides = container.db.alarms.detection_overrides().get(target.pk, {})
        settings = DetectionSettings().merged(overrides)
        sites = scoring.sites_of(container.db.assets.iter_assets(target.pk))
        found = scoring.all_alarms(container.db.alarms, target.pk)
        alarms = scoring.raisings(container.db.alarms, target.pk, found)
    start = (
        parse_time(since, now).timestamp()
        if since
        else min((t.start for t in truths), default=time.time())
    )
    end = parse_time(until, now).timestamp() if until else now.timestamp()
    result = scoring.score(
        truths, alarms, sites, zone=target.timezone, start=start, end=end, settings=settings
    )
    rows = scoring.table(result)
    summary = {
        "outages": result.outages,
        "incidents": result.incidents,
        "lamp_alarms_in_outage": result.lamp_alarms_in_outage,
        "held": result.held,
        "authorised_openings": result.authorised_openings,
        "break_ins_on_them": result.break_ins_on_them,
        "passes": scoring.passes(result),
    }
    if as_json:
        console.print_json(orjson.dumps({"types": rows, **summary}).decode())
    else:
        _print_tables(f"{target.name}: alarms against {truth.name}", rows)
        console.print(
            f"outages {result.outages}, incidents {result.incidents}, lamp or silence alarms"
            f" under an outage {result.lamp_alarms_in_outage}, alarms held {result.held};"
            f" crews' door openings {result.authorised_openings}, break-in alarms on them"
            f" {result.break_ins_on_them}",
            highlight=False,
        )
        console.print(LEGEND, style="dim", highlight=False)
    if check and not summary["passes"]:
        raise typer.Exit(1)


def _table(title: str, rows: list[dict[str, object]]) -> Table:
    """A table whose columns sit one space apart, with the type never wrapped nor cut."""
    widest = max((len(str(row["type"])) for row in rows), default=4)
    show = Table(title=title, box=box.SIMPLE_HEAD, padding=0, show_edge=False)
    show.add_column("type", no_wrap=True, min_width=widest)
    return show


def _print_tables(title: str, rows: list[dict[str, object]]) -> None:
    """Counts and shares in one table, times to detect in another: each fits 80 columns."""
    counts = _table(title, rows)
    for name in ("faults", "expected", "detected", "recall", "alarms", "true", "precision"):
        counts.add_column(name, justify="right", no_wrap=True)
    times = _table("time to detect", rows)
    for name in TIME_HEADERS:
        times.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        counts.add_row(
            str(row["type"]),
            *(str(row[k]) for k in ("faults", "expected", "detected")),
            _share(row["recall"]),
            *(str(row[k]) for k in ("alarms", "true_alarms")),
            _share(row["precision"]),
        )
        times.add_row(
            str(row["type"]),
            *(f"{_seconds(row[m])} / {_seconds(row[p])}" for m, p in TIME_PAIRS),
        )
    delays = _table("time to detect from visible, in reporting intervals", rows)
    for name in ("interval", "p95 / max"):
        delays.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        interval, p95, most = row["interval_s"], *(row[k] for k in scoring.DELAY_KEYS)
        if isinstance(interval, int | float):
            delays.add_row(str(row["type"]), _seconds(interval), f"{_share(p95)} / {_share(most)}")
    console.print(counts)
    console.print(times)
    console.print(delays)
