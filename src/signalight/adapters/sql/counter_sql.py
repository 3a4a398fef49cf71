"""The energy counter's rules in SQL: a counter's rise between two readings, and an hour's merge.

:func:`rise_sql` is :func:`signalight.domain.energy.counter_rise` written as
one SQL expression (the same moduli, the same limit of what a light can
draw), so that the upserts of ``reading_hours`` and the energy reports count
as the domain does. :func:`energy_updates` merges two tallies of one hour:
the earliest and the latest counter reading stay, and the rises add up with
the step between the two tallies.
"""

from __future__ import annotations

from typing import Final

from signalight.domain.energy import MAX_POWER_W, MIN_ELAPSED_S, MODULI

__all__ = ["ENERGY_COLUMNS", "energy_updates", "rise_sql"]

# The counter's columns of ``reading_hours`` (migration 0016), in HourTally's row order.
ENERGY_COLUMNS: Final = (
    "energy_first",
    "energy_first_at",
    "energy_last",
    "energy_last_at",
    "energy_rise",
)


def _modulus(before: str) -> str:
    whens = " ".join(f"WHEN {before} < {modulus!r} THEN {modulus!r}" for modulus in MODULI)
    return f"(CASE {whens} END)"


def rise_sql(before: str, before_at: str, after: str, after_at: str, greatest: str) -> str:
    """What a counter counted from ``before`` (at ``before_at``) to ``after``, as SQL.

    The arguments are SQL expressions; ``greatest`` is the dialect's
    many-argument maximum (``max`` in SQLite, ``GREATEST`` in PostgreSQL).
    """
    most = f"({MAX_POWER_W!r} * {greatest}({after_at} - {before_at}, {MIN_ELAPSED_S!r}) / 3600.0)"
    wrapped = f"({_modulus(before)} - {before} + {after})"
    return (
        f"(CASE WHEN {after} >= {before}"
        f" THEN CASE WHEN {after} - {before} <= {most} THEN {after} - {before} ELSE 0.0 END"
        f" WHEN {wrapped} <= {most} THEN {wrapped} ELSE {after} END)"
    )


def energy_updates(greatest: str) -> str:
    """The ``SET`` list that merges a new tally's counter readings into the stored hour's.

    Every right-hand side reads the stored row as it was (SQL evaluates a
    SET list against the old row). The rises add up, with the step from one
    tally's last reading to the other's first when one follows the other.
    When their readings interleave (a node's buffered readings arriving
    among live ones of the same hour), the hour's rise is the larger of the
    two tallies' and of the span from the earliest reading to the latest: exact
    for a counter that did not reset in the hour.
    """
    old, new = "reading_hours", "excluded"
    first_new = f"{old}.energy_first_at IS NULL OR {new}.energy_first_at < {old}.energy_first_at"
    last_new = f"{old}.energy_last_at IS NULL OR {new}.energy_last_at > {old}.energy_last_at"
    after = rise_sql(
        f"{old}.energy_last",
        f"{old}.energy_last_at",
        f"{new}.energy_first",
        f"{new}.energy_first_at",
        greatest,
    )
    before = rise_sql(
        f"{new}.energy_last",
        f"{new}.energy_last_at",
        f"{old}.energy_first",
        f"{old}.energy_first_at",
        greatest,
    )
    latest = f"(CASE WHEN {last_new} THEN {new}.energy_last ELSE {old}.energy_last END)"
    earliest = f"(CASE WHEN {first_new} THEN {new}.energy_first ELSE {old}.energy_first END)"
    rise = (
        f"CASE WHEN {old}.energy_last_at IS NULL THEN {new}.energy_rise"
        f" WHEN {new}.energy_last_at IS NULL THEN {old}.energy_rise"
        f" WHEN {new}.energy_first_at > {old}.energy_last_at"
        f" THEN {old}.energy_rise + {new}.energy_rise + {after}"
        f" WHEN {new}.energy_last_at < {old}.energy_first_at"
        f" THEN {old}.energy_rise + {new}.energy_rise + {before}"
        f" ELSE {greatest}({old}.energy_rise, {new}.energy_rise, {latest} - {earliest}) END"
    )
    take_first = f"CASE WHEN {first_new} THEN {new}.{{name}} ELSE {old}.{{name}} END"
    take_last = f"CASE WHEN {last_new} THEN {new}.{{name}} ELSE {old}.{{name}} END"
    return ", ".join(
        [
            *(f"{name} = {take_first.format(name=name)}" for name in ENERGY_COLUMNS[:2]),
            *(f"{name} = {take_last.format(name=name)}" for name in ENERGY_COLUMNS[2:4]),
            f"energy_rise = {rise}",
        ]
    )
