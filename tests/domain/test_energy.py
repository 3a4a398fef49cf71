"""Energy arithmetic: counters through resets, wraps and swaps, gaps, power, darkness, savings."""

from __future__ import annotations

import math
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from signalight.domain.energy import (
    GAP_DAY_WEIGHT,
    MAX_POWER_W,
    Figures,
    Tariff,
    counter_energy,
    counter_rise,
    dark_seconds,
    deviates,
    night_plan_wh,
    power_energy,
    spread,
    wrap_modulus,
)
from signalight.domain.energy_periods import (
    Period,
    check_range,
    dark_in,
    span_of_hours,
    spans,
)
from signalight.domain.errors import InvalidInputError
from signalight.domain.sun import Daylight, LocalDays, SunTable

HOUR = 3600.0


def test_a_rising_counter_counts_its_rise() -> None:
    assert counter_rise(1000.0, 1012.5, 300.0) == 12.5
    assert counter_rise(1000.0, 1000.0, 300.0) == 0.0


def test_a_drop_far_below_any_modulus_is_a_reset_counting_the_new_value() -> None:
    # The node restarted: it counted 7 Wh since, what it counted before the restart is lost.
    assert counter_rise(123_456.0, 7.0, 300.0) == 7.0
    assert counter_energy([(0.0, 500.0), (300.0, 510.0), (600.0, 3.0), (900.0, 13.0)]) == 23.0


def test_a_drop_just_below_a_modulus_is_a_wrap() -> None:
    # A 16-bit register of Wh rolls over at 65,536; a 6-digit meter at 10^6.
    assert wrap_modulus(65_530.0) == 65_536.0
    assert counter_rise(65_530.0, 10.0, 300.0) == pytest.approx(16.0)
    assert counter_rise(999_990.0, 5.0, 300.0) == pytest.approx(15.0)
    # Too far below the modulus for the time between: the light could not have drawn it.
    far = 65_536.0 - MAX_POWER_W * 300 / HOUR - 50
    assert counter_rise(far, 10.0, 300.0) == 10.0
    # A long gap makes a farther wrap plausible.
    assert counter_rise(far, 10.0, 7200.0) == pytest.approx(65_536.0 - far + 10.0)


def test_a_rise_no_light_could_draw_is_a_new_counter_and_counts_nothing() -> None:
    assert counter_rise(100.0, 900_000.0, 300.0) == 0.0
    # From there on, the new counter's rises count.
    assert counter_energy([(0.0, 100.0), (300.0, 900_000.0), (600.0, 900_020.0)]) == 20.0


def test_readings_count_the_same_in_any_order_and_repeats_count_once() -> None:
    points = [(600.0, 30.0), (0.0, 10.0), (300.0, 20.0), (300.0, 20.0)]
    assert counter_energy(points) == 20.0
    assert counter_energy([]) == 0.0
    assert counter_energy([(5.0, 100.0)]) == 0.0


def test_power_is_its_mean_held_for_the_hour() -> None:
    assert power_energy(12 * 80.0, 12) == 80.0
    assert power_energy(0.0, 0) == 0.0
    assert power_energy(100.0, 2, hours=0.5) == 25.0


def test_a_gap_is_spread_over_its_dark_hours_and_keeps_its_total() -> None:
    start, end = 10 * HOUR + 1800, 14 * HOUR + 1800  # 10:30 to 14:30
    dark = {10 * HOUR: 1.0, 11 * HOUR: 1.0, 12 * HOUR: 0.0, 13 * HOUR: 0.0, 14 * HOUR: 0.0}
    got = spread(400.0, start, end, dark)
    assert sum(got.values()) == pytest.approx(400.0)
    assert set(got) == {10 * HOUR, 11 * HOUR, 12 * HOUR, 13 * HOUR, 14 * HOUR}
    # The dark hours take nearly all; the first half hour half what the full one takes.
    assert got[11 * HOUR] == pytest.approx(2 * got[10 * HOUR])
    assert got[10 * HOUR] + got[11 * HOUR] > 0.97 * 400.0
    assert got[12 * HOUR] == pytest.approx(got[11 * HOUR] * GAP_DAY_WEIGHT / (1 + GAP_DAY_WEIGHT))


def test_a_gap_wholly_by_day_is_spread_by_time() -> None:
    got = spread(90.0, 0.0, 3 * HOUR, {0.0: 0.0, HOUR: 0.0, 2 * HOUR: 0.0})
    assert list(got.values()) == pytest.approx([30.0, 30.0, 30.0])
    assert spread(5.0, 100.0, 100.0, {}) == {0.0: 5.0}


def test_dark_seconds_on_an_ordinary_day_and_at_the_poles() -> None:
    day = Daylight(sunrise=6 * HOUR, sunset=19 * HOUR)
    assert dark_seconds(day, 0.0, 24 * HOUR) == 11 * HOUR
    assert dark_seconds(day, 5 * HOUR, 7 * HOUR) == HOUR
    assert dark_seconds(day, 12 * HOUR, 13 * HOUR) == 0.0
    assert dark_seconds(Daylight(-math.inf, math.inf), 0.0, 24 * HOUR) == 0.0  # polar day
    assert dark_seconds(Daylight(math.inf, -math.inf), 0.0, 24 * HOUR) == 24 * HOUR  # polar night
    assert dark_seconds(day, 5.0, 5.0) == 0.0


def test_the_baseline_burns_all_day_in_the_polar_night_and_not_at_all_in_the_polar_day() -> None:
    zone = ZoneInfo("Europe/Oslo")
    sun, days = SunTable(zone), LocalDays(zone)
    cell = sun.cell(69.65, 18.96)  # Tromsø
    (winter,) = spans(zone, date(2024, 12, 21), date(2024, 12, 21), Period.DAY)
    (summer,) = spans(zone, date(2024, 6, 21), date(2024, 6, 21), Period.DAY)
    assert dark_in(sun, days, cell, winter.start, winter.end) == 24 * HOUR
    assert dark_in(sun, days, cell, summer.start, summer.end) == 0.0
    # Kuala Lumpur: about 12 hours every day of the year.
    near = ZoneInfo("Asia/Kuala_Lumpur")
    equator, local = SunTable(near), LocalDays(near)
    (day,) = spans(near, date(2024, 3, 1), date(2024, 3, 1), Period.DAY)
    dark = dark_in(equator, local, equator.cell(3.14, 101.69), day.start, day.end)
    assert 11.5 * HOUR < dark < 12.5 * HOUR


def test_local_days_on_daylight_saving_changes_have_23_and_25_hours() -> None:
    zone = ZoneInfo("Europe/Berlin")
    spring, autumn = date(2024, 3, 31), date(2024, 10, 27)
    assert [(s.end - s.start) / HOUR for s in spans(zone, spring, spring, Period.DAY)] == [23.0]
    hours = spans(zone, autumn, autumn, Period.HOUR)
    assert len(hours) == 25
    # Two hours start at 02:00 local that day: their offsets tell them apart.
    twice = [s.label for s in hours if "T02:00" in s.label]
    assert twice == ["2024-10-27T02:00:00+02:00", "2024-10-27T02:00:00+01:00"]
    assert len(spans(zone, spring, spring, Period.HOUR)) == 23


def test_months_are_local_and_cut_to_the_range() -> None:
    zone = ZoneInfo("America/New_York")
    months = spans(zone, date(2024, 1, 10), date(2024, 3, 12), Period.MONTH)
    assert [m.label for m in months] == ["2024-01", "2024-02", "2024-03"]
    assert (months[1].end - months[1].start) / HOUR == 29 * 24
    assert (months[2].end - months[2].start) / HOUR == 12 * 24 - 1  # summer time from the 10th
    # Every UTC hour of the range belongs to one month; those outside to none.
    mapped = span_of_hours(months, months[0].start - 2 * HOUR, months[-1].end + HOUR)
    assert [index for _, index in mapped[:3]] == [-1, -1, 0]
    assert mapped[-1][1] == -1
    assert sum(1 for _, index in mapped if index == 1) == 29 * 24


def test_a_half_hour_zone_counts_the_hour_across_midnight_in_the_day_it_starts_in() -> None:
    zone = ZoneInfo("Asia/Kolkata")  # UTC+05:30: local midnight is half past a UTC hour
    days = spans(zone, date(2024, 5, 1), date(2024, 5, 2), Period.DAY)
    mapped = span_of_hours(days, days[0].start, days[-1].end)
    assert [index for _, index in mapped].count(0) == 24
    assert [index for _, index in mapped].count(1) == 24


def test_report_ranges_are_bounded() -> None:
    check_range(date(2024, 1, 1), date(2025, 2, 3), Period.DAY)  # 400 days
    with pytest.raises(InvalidInputError, match="at most 400 days"):
        check_range(date(2024, 1, 1), date(2025, 2, 4), Period.MONTH)
    with pytest.raises(InvalidInputError, match="hourly report may span at most 31 days"):
        check_range(date(2024, 1, 1), date(2024, 2, 1), Period.HOUR)
    with pytest.raises(InvalidInputError, match="not be after"):
        check_range(date(2024, 1, 2), date(2024, 1, 1), Period.DAY)


def test_savings_in_kwh_money_and_co2_and_none_without_a_tariff() -> None:
    figures = Figures(actual_wh=6_000.0, baseline_wh=10_000.0, planned_wh=6_500.0)
    assert figures.saved_wh == 4_000.0
    tariff = Tariff("MYR", per_kwh=0.5, co2_kg_per_kwh=0.7)
    assert figures.saved_money(tariff) == pytest.approx(2.0)
    assert figures.saved_co2_kg(tariff) == pytest.approx(2.8)
    bare = Tariff("MYR", None, None)
    assert figures.saved_money(bare) is None
    assert figures.saved_co2_kg(bare) is None
    total = figures + Figures(1_000.0, 2_000.0)
    assert (total.actual_wh, total.baseline_wh, total.planned_wh) == (7_000.0, 12_000.0, 6_500.0)
    assert (Figures(1.0, 2.0) + Figures(1.0, 2.0)).planned_wh is None


def test_the_night_plan_dims_part_of_the_dark() -> None:
    # 100 W, 12 dark hours of which 5 at a share of 0.525: 7 h full + 2.625 h.
    assert night_plan_wh(100.0, 0.525, 12 * HOUR, 5 * HOUR) == pytest.approx(962.5)
    assert night_plan_wh(100.0, 0.3, 0.0, 0.0) == 0.0


def test_a_light_ignores_its_schedule_when_far_from_the_plan_either_way() -> None:
    assert not deviates(1_000.0, 962.5)
    assert deviates(1_200.0, 962.5)  # never dimmed
    assert deviates(0.0, 962.5)  # dark all night
    assert not deviates(30.0, 0.0)  # a few Wh on a night with nothing planned
    assert deviates(200.0, 0.0)
