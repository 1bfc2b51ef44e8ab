"""CSV for Excel: UTF-8 with BOM (so Hangul shows) and CRLF line ends.

Every CSV the platform writes goes through :func:`excel_csv`. A text cell that a
spreadsheet would read as a formula (it starts with ``= + - @``, a tab or a carriage
return, or their full-width forms, which Korean input methods type) is written behind
one apostrophe: Excel and LibreOffice then show it as text and never run it. Values
come from hospitals and people (a name ``=HYPERLINK(…)``, a phone ``=010-…``), so the
writer cannot trust any of them. Numbers are written as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def neutralise(cell: str) -> str:
    """``cell`` as spreadsheet text: a leading formula character gets an apostrophe."""
    return "'" + cell if cell.startswith(FORMULA_TRIGGERS) else cell


def _cell(value: Any) -> Any:
    return neutralise(value) if isinstance(value, str) else value


def excel_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_cell(c) for c in columns])
    writer.writerows([_cell(value) for value in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")
