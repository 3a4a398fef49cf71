from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signalight.codecs.csv_cells import FORMULA_STARTS, escape_cell, unescape_cell


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        (
            '=HYPERLINK("http://evil.example","Click")',
            '\'=HYPERLINK("http://evil.example","Click")',
        ),
        ("+SUM(1+1)", "'+SUM(1+1)"),
        ("-2+3", "'-2+3"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-", "'-"),
        ("-inf", "'-inf"),
        ("-٣", "'-٣"),
        # Text that really begins with quotes before a trigger gets one more quote.
        ("'=1+1", "''=1+1"),
        ("''@x", "'''@x"),
    ],
)
def test_formulas_are_escaped(text: str, cell: str) -> None:
    assert escape_cell(text) == cell
    assert unescape_cell(cell) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Dam 1",
        "O'Brien",
        "'t Hooft",
        "'",
        "''",
        "a=b",
        " =1+1",
        "-33.8688197",
        "+5",
        "-0",
        "-1e5",
        "-1.5E-07",
        "-.5",
        "-5.",
    ],
)
def test_other_cells_are_left_alone(text: str) -> None:
    assert escape_cell(text) == text
    assert unescape_cell(text) == text


def test_formula_starts_are_owasps() -> None:
    assert set(FORMULA_STARTS) == {"=", "+", "-", "@", "\t", "\r"}
    assert all(escape_cell(start + "x") == "'" + start + "x" for start in FORMULA_STARTS)


risky = st.tuples(
    st.text("'", max_size=3), st.sampled_from(["", *FORMULA_STARTS]), st.text(max_size=10)
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(risky, st.text()))
def test_unescape_undoes_escape(text: str) -> None:
    cell = escape_cell(text)
    assert unescape_cell(cell) == text
    # What a spreadsheet would run is always escaped; a number only as it is.
    if cell and cell[0] in FORMULA_STARTS:
        assert cell == text
        assert float(cell) == float(text)
