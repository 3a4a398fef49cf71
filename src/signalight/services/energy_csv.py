"""An energy report as CSV: one line a key and period, then the totals, for spreadsheets."""

from __future__ import annotations

import csv
import io
from typing import Final

from signalight.domain.energy import Figures, Tariff
from signalight.services.energy import EnergyReport

__all__ = ["CSV_COLUMNS", "report_csv"]

CSV_COLUMNS: Final = (
    "key",
    "period",
    "lights",
    "metered",
    "actual_kwh",
    "baseline_kwh",
    "planned_kwh",
    "saved_kwh",
    "saved_money",
    "currency",
    "saved_co2_kg",
)


def _kwh(wh: float | None) -> str:
    return "" if wh is None else f"{wh / 1000.0:.3f}"


def _amount(value: float | None, places: int) -> str:
    return "" if value is None else f"{value:.{places}f}"


def _line(
    key: str, period: str, lights: int, metered: int, figures: Figures, tariff: Tariff
) -> list[str]:
    return [
        key,
        period,
        str(lights),
        str(metered),
        _kwh(figures.actual_wh),
        _kwh(figures.baseline_wh),
        _kwh(figures.planned_wh),
        _kwh(figures.saved_wh),
        _amount(figures.saved_money(tariff), 2),
        tariff.currency,
        _amount(figures.saved_co2_kg(tariff), 1),
    ]


def report_csv(report: EnergyReport) -> str:
    """The report's rows, then a ``total`` line; money and CO2 are empty where the city set none."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        writer.writerow(
            _line(row.key, row.period, row.lights, row.metered, row.figures, report.tariff)
        )
    label = f"{report.first.isoformat()}..{report.last.isoformat()}"
    writer.writerow(_line("total", label, report.lights, 0, report.total, report.tariff))
    return out.getvalue()
