"""CSV cells a spreadsheet cannot run: every CSV the project writes goes through here.

A spreadsheet evaluates a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and some do
after a leading tab or carriage return), so a role name, label or filler such as
``=1+1``, ``@sum(a1)`` or ``-1+2`` written as a bare cell is a formula (CSV injection).
The OWASP rule: such a text cell is written with a single quote in front (``'=1+1``),
which spreadsheets show as text. The full-width forms (``＝ ＋ － ＠``) and a leading newline
are treated the same, since some spreadsheets map or skip them.

Numbers stay numbers: a cell that is an ``int``/``float`` value (not text) is written as
Python writes it (``-0.5``, ``nan``), because it is data we computed, not text from the
user. Text that merely looks like a number (a filler ``"-1"``) is still text and gets the
quote: what decides is where the cell came from, not how it reads.
"""

from __future__ import annotations

import csv
import io
import numbers
from typing import Any, Iterable, Mapping, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def safe_cell(value: Any) -> Any:
    """``value`` as a CSV cell that no spreadsheet evaluates (numbers unchanged, see the module doc)."""
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    if isinstance(value, numbers.Real):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_row(row: Sequence[Any]) -> list[Any]:
    return [safe_cell(v) for v in row]


def write_rows(f, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A header and rows to the open text file ``f`` (opened with ``newline=""``), every cell
    through :func:`safe_cell`. Lines end in CRLF (RFC 4180): with that terminator the csv
    module quotes a cell holding a CR or LF, which a bare LF terminator leaves unquoted."""
    writer = csv.writer(f, lineterminator="\r\n")
    writer.writerow(safe_row(header))
    for row in rows:
        writer.writerow(safe_row(row))


def write_dicts(f, fieldnames: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """Dict rows (missing keys empty) to ``f``, as :func:`write_rows`."""
    write_rows(f, fieldnames, ([row.get(k, "") for k in fieldnames] for row in rows))


def dicts_to_csv(fieldnames: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    buf = io.StringIO()
    write_dicts(buf, fieldnames, rows)
    return buf.getvalue()
