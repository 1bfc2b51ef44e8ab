"""The yearly pledge report as an XLSX workbook an auditor can recompute.

Three sheets, in Korean, each printable (A4 landscape, one page wide, the header
repeated on every page):

- **요약**: the set's 완료율 and 목표달성도 over the programs listed under them, and per
  program its status, progress as stated on the card and as computed, and whether it
  met the year's targets;
- **지표**: per program and period each indicator's target (A), actual (B) and
  achievement (B/A), with where the actual came from;
- **예산**: per program, funding source and period the budget (A), the execution (B)
  and the execution rate (B/A).

Every rate is an Excel formula over the cells, not a copied number, so whoever opens
the file sees how it was reached and can change an input to check it. The formulas
follow :mod:`care_models.pledges.report`: achievement and execution are
``ROUND(B/A*100, 1)`` and blank without both (or with A = 0); computed progress is the
mean of the achievements capped at 100; a program met its targets when it has at
least one achievement and none under 100; 완료율 and 목표달성도 count programs.
The report rounds half-up (``ROUND_HALF_UP``, away from zero) and Excel's ROUND
rounds half away from zero: the same digits.

Programs are matched to their indicators by code with COUNTIFS and SUMIFS, which
read ``*``, ``?`` and a leading operator in a criterion as patterns; program codes
are letters, digits, ``.``, ``_`` and ``-`` starting with a letter or digit (the card
schema), so the match is exact.

The file carries a fixed date (1 January after the report's year) instead of the
time it was written, so a re-run publishes the same bytes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.utils import quote_sheetname
from openpyxl.worksheet.worksheet import Worksheet

from care_models.pledges.documents import ORIGIN_LABELS, SOURCE_LABELS, title_of
from care_models.pledges.report import COMPLETED, SetReport
from care_models.rendering.xlsx import (
    BORDER,
    ONE_DECIMAL,
    Column,
    Formula,
    amount_format,
    body_font,
    print_setup,
    set_value,
    workbook_bytes,
    write_table,
)

SUMMARY, INDICATORS, BUDGET = "요약", "지표", "예산"
MET, NOT_MET = "달성", "미달"
NOT_ENTERED = "미입력"
FORMULAS_NOTE = (
    "완료율·목표달성도, 공약별 사업진도(지표 계산)·목표 달성, 지표 시트의 달성률과 예산 시트의"
    " 집행률은 셀 수식입니다. 일치도는 카드 최초판과 현재판을 비교한 값입니다."
)
SUMMARY_HEADER_ROW = 9
COUNT_CELL = "$B$3"  # 공약 수: the second figure under the title (연도 first)

SUMMARY_COLUMNS = (
    Column("공약 코드", 18),
    Column("공약명", 44),
    Column("추진상황", 16),
    Column("사업진도 부서 제시 %", 14, ONE_DECIMAL),
    Column("사업진도 지표 계산 %", 14, ONE_DECIMAL),
    Column("목표 달성", 10),
)
INDICATOR_COLUMNS = (
    Column("공약", 16),
    Column("지표 코드", 22),
    Column("지표", 40),
    Column("단위", 8),
    Column("기간", 9),
    Column("목표(A)", 12, amount_format),
    Column("실적(B)", 12, amount_format),
    Column("달성률(B/A) %", 12, ONE_DECIMAL),
    Column("출처", 10),
    Column("검토", 18),
    Column("산식", 30),
    Column("자료출처", 20),
    Column("수집방법", 16),
)
BUDGET_COLUMNS = (
    Column("공약", 16),
    Column("재원", 14),
    Column("기간", 9),
    Column("예산(A) 백만원", 14, amount_format),
    Column("집행(B) 백만원", 14, amount_format),
    Column("집행률(B/A) %", 12, ONE_DECIMAL),
)


def ratio_formula(planned: str, done: str) -> Formula:
    """B/A in percent with one decimal, blank without both or when A is 0."""
    return Formula(f'=IF(OR({planned}="",{done}="",{planned}=0),"",ROUND({done}/{planned}*100,1))')


def properties_stamp(year: int) -> dt.datetime:
    """The workbook's fixed date: 1 January after the report's year."""
    return dt.datetime(year + 1, 1, 1)


def _indicator_sheet(ws: Worksheet, report: SetReport) -> int:
    rows: list[tuple[Any, ...]] = []
    for program in report.programs:
        for line in program.indicators:
            row = len(rows) + 2
            rows.append(
                (
                    program.code,
                    line.code,
                    line.name,
                    line.unit,
                    line.period,
                    line.target,
                    line.actual,
                    ratio_formula(f"F{row}", f"G{row}"),
                    ORIGIN_LABELS.get(line.source or "", NOT_ENTERED),
                    line.review_flag,
                    line.formula,
                    line.data_source,
                    line.collection_method,
                )
            )
    last = write_table(ws, INDICATOR_COLUMNS, rows)
    print_setup(ws, header_row=1, freeze="C2")
    return last


def _budget_sheet(ws: Worksheet, report: SetReport) -> None:
    rows: list[tuple[Any, ...]] = []
    for program in report.programs:
        for line in program.budget:
            row = len(rows) + 2
            rows.append(
                (
                    program.code,
                    SOURCE_LABELS.get(line.source, line.source),
                    line.period,
                    line.planned,
                    line.executed,
                    ratio_formula(f"D{row}", f"E{row}"),
                )
            )
    write_table(ws, BUDGET_COLUMNS, rows)
    print_setup(ws, header_row=1, freeze="B2")


def _program_formulas(row: int, last_indicator_row: int) -> tuple[Formula, Formula]:
    """Computed progress and met target of the program in ``row``, over the 지표 sheet."""
    sheet = quote_sheetname(INDICATORS)
    end = max(last_indicator_row, 2)
    codes, rates = f"{sheet}!$A$2:$A${end}", f"{sheet}!$H$2:$H${end}"
    met = f'COUNTIFS({codes},$A{row},{rates},">=100")'
    behind = f'COUNTIFS({codes},$A{row},{rates},"<100")'
    behind_sum = f'SUMIFS({rates},{codes},$A{row},{rates},"<100")'
    progress = Formula(
        f'=IF({met}+{behind}=0,"",ROUND(({behind_sum}+100*{met})/({met}+{behind}),1))'
    )
    met_target = Formula(f'=IF(AND({met}>0,{behind}=0),"{MET}","{NOT_MET}")')
    return progress, met_target


def _summary_sheet(
    ws: Worksheet, report: SetReport, agreement: Decimal | None, last_indicator_row: int
) -> None:
    first = SUMMARY_HEADER_ROW + 1
    rows: list[tuple[Any, ...]] = []
    for row, program in enumerate(report.programs, start=first):
        progress, met_target = _program_formulas(row, last_indicator_row)
        rows.append(
            (
                program.code,
                program.title,
                program.status,
                program.stated_progress,
                progress,
                met_target,
            )
        )
    last = write_table(ws, SUMMARY_COLUMNS, rows, header_row=SUMMARY_HEADER_ROW)
    set_value(ws, 1, 1, title_of(report)).font = body_font(bold=True, size=14)
    for row, (label, value, number_format) in enumerate(
        _figures(report, agreement, first, last), start=2
    ):
        label_cell = set_value(ws, row, 1, label)
        label_cell.font = body_font(bold=True)
        value_cell = set_value(ws, row, 2, value)
        value_cell.number_format = number_format
        label_cell.border = value_cell.border = BORDER
    note = set_value(ws, SUMMARY_HEADER_ROW - 1, 1, FORMULAS_NOTE)
    note.font = body_font(size=9)
    note.alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells(
        start_row=note.row, start_column=1, end_row=note.row, end_column=len(SUMMARY_COLUMNS)
    )
    ws.row_dimensions[note.row].height = 28
    print_setup(ws, header_row=SUMMARY_HEADER_ROW, freeze=f"C{first}")


def _figures(
    report: SetReport, agreement: Decimal | None, first: int, last: int
) -> list[tuple[str, Any, str]]:
    """The set's figures under the title: label, value or formula, number format.

    The second is 공약 수 (:data:`COUNT_CELL`), the denominator of the two rates.
    """
    count: Any = 0
    completion: Any = None
    targets_met: Any = None
    if report.programs:
        codes, statuses, met = (f"${c}${first}:${c}${last}" for c in "ACF")
        count = Formula(f'=COUNTIF({codes},"<>")')
        completion = _share_formula(f'COUNTIF({statuses},"{COMPLETED}")')
        targets_met = _share_formula(f'COUNTIF({met},"{MET}")')
    return [
        ("연도", report.year, "0"),
        ("공약 수", count, "0"),
        ("완료율 %", completion, ONE_DECIMAL),
        ("목표달성도 %", targets_met, ONE_DECIMAL),
        ("일치도 %", agreement, ONE_DECIMAL),
    ]


def _share_formula(counted: str) -> Formula:
    """``counted`` over the programs in percent with one decimal, blank without programs."""
    return Formula(f'=IF({COUNT_CELL}=0,"",ROUND({counted}/{COUNT_CELL}*100,1))')


def report_workbook(report: SetReport, agreement: Decimal | None) -> bytes:
    """The report's workbook (요약, 지표, 예산) as XLSX bytes, the same for the same report."""
    wb = Workbook()
    summary = wb.active
    assert summary is not None  # a new workbook always has its first sheet
    summary.title = SUMMARY
    indicators = wb.create_sheet(INDICATORS)
    budget = wb.create_sheet(BUDGET)
    last_indicator_row = _indicator_sheet(indicators, report)
    _budget_sheet(budget, report)
    _summary_sheet(summary, report, agreement, last_indicator_row)
    wb.properties.title = title_of(report)
    wb.properties.creator = "통합돌봄 공약 보고"
    return workbook_bytes(wb, properties_stamp(report.year))


__all__ = ["properties_stamp", "ratio_formula", "report_workbook"]
