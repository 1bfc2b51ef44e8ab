"""Print-ready XLSX sheets, saved so the same content always gives the same bytes.

Workbooks are for people who check figures in Excel: each sheet is a ruled table with
a styled header row that repeats on every printed page, frozen under the header, A4
landscape and one page wide. Cells are set in a Korean font so Hangul shows the same
in Excel, LibreOffice and on paper.

Text is always written as text: a title or name that starts with ``=`` would
otherwise become a formula (openpyxl reads any such string as one), and the values
come from cards and people. Only :class:`Formula` values are written as formulas.

:func:`workbook_bytes` saves deterministically. openpyxl stamps the document
properties with the current time and the zip entries with the time of writing; both
are set to the caller's fixed moment instead, so a re-run publishes byte-identical
files (and a changed file means changed content).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

FONT_NAME = "맑은 고딕"  # Malgun Gothic: Windows' Korean UI font, substituted elsewhere
FONT_SIZE = 10
HEADER_FILL = "DDE4EE"
INTEGER = "#,##0"
DECIMAL = "#,##0.0##"
ONE_DECIMAL = "0.0"

_THIN = Side(style="thin", color="808080")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)

NumberFormat = str | Callable[[Any], str] | None


@dataclass(frozen=True)
class Formula:
    """An Excel formula (with its leading ``=``); everything else is written as a value."""

    text: str


@dataclass(frozen=True)
class Column:
    """A table column: its header, width in characters and number format.

    ``number_format`` is a format string, or a function of the cell's value (amounts
    show decimals only when they have some), or None for text.
    """

    header: str
    width: float
    number_format: NumberFormat = None


def amount_format(value: Any) -> str:
    """Thousands separators; decimals only for a value that has them (no trailing dot)."""
    if isinstance(value, int | Decimal) and value == int(value):
        return INTEGER
    return DECIMAL


def body_font(bold: bool = False, size: float = FONT_SIZE) -> Font:
    return Font(name=FONT_NAME, size=size, bold=bold)


def set_value(ws: Worksheet, row: int, column: int, value: Any) -> Any:
    """Write one cell: a :class:`Formula` as a formula, any string as text."""
    cell = ws.cell(row=row, column=column)
    if isinstance(value, Formula):
        cell.value = value.text
    else:
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"  # "=..." stays text, never runs
    cell.font = body_font()
    return cell


def write_table(
    ws: Worksheet,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    header_row: int = 1,
) -> int:
    """The header at ``header_row``, the rows under it, ruled; returns the last row used."""
    for number, column in enumerate(columns, start=1):
        cell = set_value(ws, header_row, number, column.header)
        cell.font = body_font(bold=True)
        cell.fill = PatternFill("solid", start_color=HEADER_FILL, end_color=HEADER_FILL)
        cell.border = BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(number)].width = column.width
    last = header_row
    for last, values in enumerate(rows, start=header_row + 1):
        for number, (column, value) in enumerate(zip(columns, values, strict=True), start=1):
            cell = set_value(ws, last, number, value)
            cell.border = BORDER
            cell.alignment = Alignment(vertical="top", wrap_text=column.number_format is None)
            fmt = column.number_format
            if callable(fmt):
                fmt = fmt(value)
            if fmt is not None:
                cell.number_format = fmt
    return last


def print_setup(ws: Worksheet, header_row: int, freeze: str | None = None) -> None:
    """A4 landscape, one page wide, ``header_row`` repeated on each page, panes frozen.

    ``freeze`` is the first cell that scrolls (default: column A under the header).
    """
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as the rows need
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.freeze_panes = freeze or f"A{header_row + 1}"
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = "&P / &N"
    ws.oddFooter.center.font = FONT_NAME


def workbook_bytes(wb: Workbook, stamp: dt.datetime) -> bytes:
    """The workbook as XLSX bytes, identical for identical content.

    ``stamp`` (naive, read as UTC) becomes the document's created and modified times
    and every zip entry's date; entries keep the order openpyxl wrote them in.
    """
    from openpyxl.writer.excel import ExcelWriter

    moment = stamp.replace(tzinfo=None, microsecond=0)
    wb.properties.created = moment
    wb.properties.modified = moment
    raw = io.BytesIO()
    # openpyxl's save_workbook() would stamp ``modified`` with now: write directly
    ExcelWriter(wb, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)).save()
    return _restamped(raw.getvalue(), moment)


def _restamped(data: bytes, moment: dt.datetime) -> bytes:
    date_time = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # the same on every platform
            info.external_attr = 0o600 << 16
            target.writestr(info, source.read(entry))
    return out.getvalue()


__all__ = [
    "BORDER",
    "DECIMAL",
    "FONT_NAME",
    "INTEGER",
    "ONE_DECIMAL",
    "Column",
    "Formula",
    "amount_format",
    "body_font",
    "print_setup",
    "set_value",
    "workbook_bytes",
    "write_table",
]
