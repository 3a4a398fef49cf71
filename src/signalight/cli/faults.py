"""`signalight score`: the alarms of a city scored against a simulator's ground truth."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer
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

    Run it after the simulated faults have had time to show (see docs/faults.md,
    Scoring, for what counts as expected and how times are measured).
    """
    if not truth.is_file():
        raise InvalidInputError(f"no ground-truth file at {truth}")
    now = datetime.now(UTC)
    with opened() as container:
        target = container.db.cities.get_city(city)
        truths = scoring.truths_of(read_truth(truth), target.slug)
        overrides = container.db.alarms.detection_overrides().get(target.pk, {})
        settings = DetectionSettings().merged(overrides)
        sites = scoring.sites_of(container.db.assets.iter_assets(target.pk))
        alarms = scoring.all_alarms(container.db.alarms, target.pk)
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
        "passes": scoring.passes(result),
    }
    if as_json:
        console.print_json(orjson.dumps({"types": rows, **summary}).decode())
    else:
        show = Table(
            "type", "faults", "expected", "detected", "recall", "alarms", "true", "precision",
            "median from start", "p95 from start", "median from visible", "p95 from visible",
            title=f"{target.name}: alarms against {truth.name}",
        )  # fmt: skip
        for row in rows:
            show.add_row(
                str(row["type"]),
                *(str(row[k]) for k in ("faults", "expected", "detected")),
                _share(row["recall"]),
                *(str(row[k]) for k in ("alarms", "true_alarms")),
                _share(row["precision"]),
                *(_seconds(row[k]) for k in scoring.TIME_KEYS),
            )
        console.print(show)
        console.print(
            f"outages {result.outages}, incidents {result.incidents}, lamp or silence alarms"
            f" under an outage {result.lamp_alarms_in_outage}, alarms held {result.held}",
            highlight=False,
        )
    if check and not summary["passes"]:
        raise typer.Exit(1)
