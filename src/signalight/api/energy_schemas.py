"""The energy API's bodies: a report's rows and totals, and the lights that ignore their plan."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from signalight.domain.energy import DEVIATION_MIN_WH, DEVIATION_SHARE, Figures, Tariff
from signalight.domain.energy_periods import Grouping, Period
from signalight.services.energy import Deviation, EnergyReport


def _kwh(wh: float | None) -> float | None:
    return None if wh is None else round(wh / 1000.0, 6)


class EnergyRowOut(BaseModel):
    """What one key's lights used over one period, against the baseline and the plan."""

    key: str = Field(description="A cabinet's or light's code, a group, a street class; '': city")
    period: str = Field(description="Local start: 2024-05-01T19:00:00+08:00, 2024-05-01, 2024-05")
    lights: int = Field(description="The key's streetlights in service with a device")
    metered: int = Field(description="Of them, those with readings in the period")
    actual_kwh: float
    baseline_kwh: float = Field(description="Rated power from sunset to sunrise at each pole")
    planned_kwh: float | None = Field(description="What the schedules planned; null by the hour")
    saved_kwh: float = Field(description="baseline - actual")
    saved_money: float | None = Field(description="In the city's currency; null without a tariff")
    saved_co2_kg: float | None = Field(description="Null without the city's grid factor")

    @classmethod
    def of(
        cls, key: str, period: str, lights: int, metered: int, figures: Figures, tariff: Tariff
    ) -> EnergyRowOut:
        """The body for one row's figures."""
        money, co2 = figures.saved_money(tariff), figures.saved_co2_kg(tariff)
        return cls(
            key=key,
            period=period,
            lights=lights,
            metered=metered,
            actual_kwh=_kwh(figures.actual_wh) or 0.0,
            baseline_kwh=_kwh(figures.baseline_wh) or 0.0,
            planned_kwh=_kwh(figures.planned_wh),
            saved_kwh=_kwh(figures.saved_wh) or 0.0,
            saved_money=None if money is None else round(money, 4),
            saved_co2_kg=None if co2 is None else round(co2, 4),
        )


class EnergyReportOut(BaseModel):
    """A city's energy per key and period over local days ``from..to``, with totals."""

    city: str
    by: Grouping
    period: Period
    from_: date = Field(alias="from")
    to: date
    currency: str
    tariff_per_kwh: float | None = Field(description="Null: the city has set none")
    co2_kg_per_kwh: float | None = Field(description="Null: the city has set none")
    lights: int
    unrated: list[str] = Field(description="Lights without a rated power: no baseline for them")
    notes: list[str]
    rows: list[EnergyRowOut]
    total: EnergyRowOut

    @classmethod
    def of(cls, report: EnergyReport) -> EnergyReportOut:
        """The body of a report."""
        tariff = report.tariff
        label = f"{report.first.isoformat()}..{report.last.isoformat()}"
        return cls.model_validate(
            {
                "city": report.city,
                "by": report.grouping,
                "period": report.period,
                "from": report.first,
                "to": report.last,
                "currency": tariff.currency,
                "tariff_per_kwh": tariff.per_kwh,
                "co2_kg_per_kwh": tariff.co2_kg_per_kwh,
                "lights": report.lights,
                "unrated": report.unrated,
                "notes": report.notes,
                "rows": [
                    EnergyRowOut.of(r.key, r.period, r.lights, r.metered, r.figures, tariff)
                    for r in report.rows
                ],
                "total": EnergyRowOut.of("total", label, report.lights, 0, report.total, tariff),
            }
        )


class DeviationOut(BaseModel):
    """A light's local day far from its plan."""

    code: str
    day: date
    actual_kwh: float
    planned_kwh: float

    @classmethod
    def of(cls, deviation: Deviation) -> DeviationOut:
        """The body of one deviation."""
        return cls(
            code=deviation.code,
            day=deviation.day,
            actual_kwh=_kwh(deviation.actual_wh) or 0.0,
            planned_kwh=_kwh(deviation.planned_wh) or 0.0,
        )


class DeviationsOut(BaseModel):
    """The lights that ignored their schedule, by day and code, and the rule that says so."""

    share: float = Field(DEVIATION_SHARE, description="Off the plan by more than this share...")
    min_kwh: float = Field(DEVIATION_MIN_WH / 1000.0, description="...and by more than this")
    items: list[DeviationOut]
