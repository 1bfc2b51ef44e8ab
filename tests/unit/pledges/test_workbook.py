"""The pledge report's XLSX: its formulas give the report's own rates, bytes are stable.

The workbook's rates are Excel formulas; pycel evaluates them here as Excel would, and
each must equal what :mod:`care_models.pledges.report` computed for the same lines (the
seed cards' own examples among them). No database: the report is built by hand.
"""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from pycel import ExcelCompiler

from care_models.pledges.report import (
    BudgetLine,
    IndicatorLine,
    ProgramReport,
    SetReport,
    rate,
)
from care_models.pledges.workbook import SUMMARY_HEADER_ROW, report_workbook
from care_models.rendering.xlsx import FONT_NAME

D = Decimal
YEAR = 2024


def indicator(
    code: str, target: int | None, actual: int | None, source: str | None = "computed"
) -> IndicatorLine:
    t = None if target is None else D(target)
    a = None if actual is None else D(actual)
    return IndicatorLine(code, f"{code} 지표", "명", str(YEAR), t, a, rate(a, t), source, None)


def budget(source: str, planned: int, executed: int | None) -> BudgetLine:
    e = None if executed is None else D(executed)
    return BudgetLine(source, str(YEAR), D(planned), e, rate(e, D(planned)))


def sample_report() -> SetReport:
    yesan = ProgramReport("YS-CARE", "예산 돌봄", "예산군", "완료", D(100), D("100.0"))
    yesan.indicators = [indicator("clients", 109, 130)]  # 119.3
    yesan.budget = [budget("national", 213, 201)]  # 94.4
    yeoncheon = ProgramReport("YC-CARE", "연천 돌봄", "연천군", "정상추진", D(80), D("100.0"))
    yeoncheon.indicators = [
        indicator("reached", 180, 188, "reported"),  # 104.4
        indicator("pending", 50, None, None),  # no actual yet: blank, not judged
    ]
    yeoncheon.budget = [budget("local", 40, None), budget("provincial", 10, 11)]
    # (88.1 + 96.5 + 100) / 3 = 94.87 -> 94.9: the capped mean the report computes
    jincheon = ProgramReport("JC-CARE", '=HYPERLINK("x")', "진천군", "일부추진", None, D("94.9"))
    jincheon.indicators = [
        indicator("settled", 227, 200),  # 88.1
        indicator("decisions", 1814, 1750),  # 96.5
        indicator("stayed", 180, 188),  # 104.4, counts as 100
    ]
    jincheon.budget = [budget("other", 0, 5)]  # nothing planned: no rate
    idle = ProgramReport("ID-NONE", "지표 없음", "진천군", None, None, None)
    exact = ProgramReport("GJ-CARE", "금정 돌봄", "금정구", "완료", D(100), D("100.0"))
    exact.indicators = [indicator("visits", 213, 213)]  # exactly 100.0: met
    return SetReport(YEAR, [yesan, yeoncheon, jincheon, idle, exact])


def compiled(data: bytes) -> ExcelCompiler:
    return ExcelCompiler(excel=openpyxl.load_workbook(io.BytesIO(data)))


def as_decimal(value: Any) -> Decimal | None:
    """pycel's value as the report's: '' is no rate, a float its one-decimal digits."""
    if value in ("", None):
        return None
    return D(str(value))


@pytest.fixture(scope="module")
def report() -> SetReport:
    return sample_report()


@pytest.fixture(scope="module")
def data(report: SetReport) -> bytes:
    return report_workbook(report, D("75.0"))


def test_achievement_and_execution_formulas_give_the_reports_rates(
    report: SetReport, data: bytes
) -> None:
    xl = compiled(data)
    lines = [line for p in report.programs for line in p.indicators]
    achieved = [as_decimal(xl.evaluate(f"지표!H{row}")) for row in range(2, len(lines) + 2)]
    assert achieved == [line.achievement for line in lines]
    assert achieved == [D("119.3"), D("104.4"), None, D("88.1"), D("96.5"), D("104.4"), D("100.0")]
    budgets = [b for p in report.programs for b in p.budget]
    executed = [as_decimal(xl.evaluate(f"예산!F{row}")) for row in range(2, len(budgets) + 2)]
    assert executed == [b.execution_rate for b in budgets]
    assert executed == [D("94.4"), None, D("110.0"), None]


def test_summary_formulas_give_the_sets_rates_and_each_programs_progress(
    report: SetReport, data: bytes
) -> None:
    xl = compiled(data)
    assert as_decimal(xl.evaluate("요약!B3")) == len(report.programs)
    assert as_decimal(xl.evaluate("요약!B4")) == report.completion_rate == D("40.0")
    assert as_decimal(xl.evaluate("요약!B5")) == report.target_rate == D("60.0")
    for row, program in enumerate(report.programs, start=SUMMARY_HEADER_ROW + 1):
        assert xl.evaluate(f"요약!A{row}") == program.code
        assert as_decimal(xl.evaluate(f"요약!E{row}")) == program.computed_progress, program.code
        assert (xl.evaluate(f"요약!F{row}") == "달성") is program.met_target, program.code


def test_the_formulas_follow_the_cells_an_auditor_changes(data: bytes) -> None:
    xl = compiled(data)
    assert xl.evaluate("지표!H4") == "" and xl.evaluate("요약!B5") == 60  # (cells now known)
    xl.set_value("지표!G4", 50)  # the pending actual arrives: 50 against 50
    assert as_decimal(xl.evaluate("지표!H4")) == D("100.0")
    xl.set_value("지표!G2", 100)  # Yesan's 100 against 109: 91.7, no longer met
    assert as_decimal(xl.evaluate("지표!H2")) == D("91.7")
    assert xl.evaluate(f"요약!F{SUMMARY_HEADER_ROW + 1}") == "미달"
    assert as_decimal(xl.evaluate("요약!B5")) == D("40.0")


def test_labels_text_and_fonts(data: bytes) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["요약", "지표", "예산"]
    indicators, budgets, summary = wb["지표"], wb["예산"], wb["요약"]
    assert [indicators.cell(r, 9).value for r in range(2, 9)] == [
        "자료 산출",
        "보고",
        "미입력",
        "자료 산출",
        "자료 산출",
        "자료 산출",
        "자료 산출",
    ]
    assert [budgets.cell(r, 2).value for r in range(2, 6)] == [
        "국비",
        "시·군·구비",
        "도비·시비",
        "기타",
    ]
    title = summary.cell(SUMMARY_HEADER_ROW + 3, 2)
    assert title.value == '=HYPERLINK("x")' and title.data_type == "s"  # text, never run
    assert summary["B6"].value == 75  # 일치도, a value
    assert indicators["H2"].data_type == "f" and indicators["H2"].number_format == "0.0"
    assert {c.font.name for row in indicators.iter_rows() for c in row} == {FONT_NAME}


def test_print_setup(data: bytes) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    for name, header_row in (("요약", SUMMARY_HEADER_ROW), ("지표", 1), ("예산", 1)):
        ws = wb[name]
        assert ws.page_setup.orientation == "landscape", name
        assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4), name
        assert ws.sheet_properties.pageSetUpPr.fitToPage, name
        assert int(ws.page_setup.fitToWidth) == 1 and int(ws.page_setup.fitToHeight) == 0
        assert ws.print_title_rows == f"${header_row}:${header_row}", name
        assert ws.freeze_panes is not None
        assert int(ws.freeze_panes.lstrip("ABC")) == header_row + 1, name
        assert ws.cell(header_row, 1).font.bold and ws.cell(header_row, 1).fill.fgColor.rgb


def test_the_same_report_gives_the_same_bytes(report: SetReport, data: bytes) -> None:
    assert report_workbook(report, D("75.0")) == data
    assert report_workbook(report, D("75.1")) != data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(YEAR + 1, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert core.count(f"{YEAR + 1}-01-01T00:00:00Z") == 2  # created and modified


def test_an_empty_report_still_opens(data: bytes) -> None:
    empty = report_workbook(SetReport(YEAR, []), None)
    xl = compiled(empty)
    assert xl.evaluate("요약!B3") == 0
    assert as_decimal(xl.evaluate("요약!B4")) is None
