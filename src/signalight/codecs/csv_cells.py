"""CSV cells a spreadsheet shows as text: formula injection escaped on export, undone on import.

A spreadsheet that opens a CSV file runs a cell beginning with ``=``, ``+``, ``-`` or
``@`` as a formula (and some strip a leading tab or carriage return first), so an asset
named ``=HYPERLINK("http://evil.example","Click")`` or ``=cmd|' /C calc'!A0`` in an
export would act on the machine of whoever opens it. As OWASP advises, such a cell is
written with a single quote ``'`` in front, which spreadsheets take as "this is text".

The rule, which :func:`escape_cell` and :func:`unescape_cell` keep exactly inverse:

- On export a cell gets one more ``'`` in front when it begins with any number of
  ``'`` (none included) followed by one of ``=``, ``+``, ``-``, ``@``, tab or carriage
  return: ``=1+1`` is written ``'=1+1``, and ``'=1+1`` (text that really begins with a
  quote) is written ``''=1+1``. A plain decimal number such as ``-33.8688197``, ``+5``
  or ``-1e5`` is written as it is: as a formula it is only that number, and a quote
  would turn a spreadsheet's number into text.
- On import a cell that begins with ``'`` followed by any number of ``'`` and then
  one of those six characters loses its first ``'``; every other cell is read as it
  is, so ``'t Hooft`` and ``O'Brien`` keep their quotes.
"""

from __future__ import annotations

import re

__all__ = ["FORMULA_STARTS", "escape_cell", "unescape_cell"]

FORMULA_STARTS = "=+-@\t\r"  # OWASP's list of the characters a formula can begin with
_FIRST = frozenset("'" + FORMULA_STARTS)
_FORMULA = re.compile(r"'*[=+\-@\t\r]")
# ASCII digits only: a spreadsheet reads "-٣" (an Arabic-Indic three) as a formula, not a number.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def escape_cell(text: str) -> str:
    """The cell to write for ``text`` so that no spreadsheet runs it as a formula.

    Every CSV the product writes passes each of its cells through here.

    Args:
        text: The value as stored.

    Returns:
        ``text`` with a ``'`` in front if it begins with optional quotes followed by
        ``=``, ``+``, ``-``, ``@``, tab or carriage return and is not a plain decimal
        number; otherwise ``text`` itself.
    """
    # Most cells begin with a letter or a digit: settle them without a regular expression, as
    # an export of 100,000 assets passes nearly two million cells through here.
    if not text or text[0] not in _FIRST:
        return text
    if _FORMULA.match(text) is None or _NUMBER.fullmatch(text) is not None:
        return text
    return "'" + text


def unescape_cell(cell: str) -> str:
    """The value that :func:`escape_cell` wrote as ``cell``.

    Args:
        cell: A cell as read from a CSV file.

    Returns:
        ``cell`` without its first ``'`` if it is a quote followed by optional quotes and
        ``=``, ``+``, ``-``, ``@``, tab or carriage return; otherwise ``cell`` itself.
    """
    if cell[:1] == "'" and _FORMULA.match(cell, 1) is not None:
        return cell[1:]
    return cell
