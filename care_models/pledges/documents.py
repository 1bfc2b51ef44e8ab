"""The yearly pledge report, in Korean: HTML (printable) and PDF, and its CSV tables.

The HTML and PDF lay each program out like the seed cards: its header (title,
municipality, status, progress as stated and as computed), the confirmation
indicators with target (A), actual (B), achievement (B/A) and where the actual comes
from, and the budget by funding source with its execution rate; the set's 완료율,
목표달성도 and 일치도 on top. The CSVs (indicators, budget) open in Excel; the XLSX
workbook (:mod:`care_models.pledges.workbook`) has the same tables with the rates as
formulas over its cells. Files are
written whole under ``<out>/pledges/<year>/``.
"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from care_models.pledges.progress import MonthlyProgress
from care_models.pledges.report import ProgramReport, SetReport
from care_models.rendering.atomic import write_file
from care_models.rendering.charts import drawing_svg, target_actual_chart
from care_models.rendering.fonts import KoreanFont
from care_models.rendering.html import TEMPLATES_ROOT, environment
from care_models.rendering.pdf import a4_document, korean_fonts, ruled_table
from care_models.rendering.tables import excel_csv

TEMPLATES_DIR = TEMPLATES_ROOT / "pledges"
SOURCE_LABELS = {
    "national": "국비",
    "provincial": "도비·시비",
    "local": "시·군·구비",
    "other": "기타",
}
ORIGIN_LABELS = {"computed": "자료 산출", "reported": "보고"}


def num(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return f"{value.normalize():,f}"  # 90.80 prints as 90.8, 1900.00 as 1,900


def pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{value}%"


def title_of(report: SetReport) -> str:
    return f"{report.year}년 공약 이행 및 성과 보고"


def program_charts(program: ProgramReport, font_name: str) -> list[Any]:
    """One chart of target against actual per period for each indicator with targets."""
    return [
        target_actual_chart(series.name, series.unit, series.points, font_name)
        for series in program.series
    ]


def html_charts(report: SetReport) -> dict[str, list[str]]:
    regular, _bold = korean_fonts()
    return {
        program.code: [
            drawing_svg(chart, f"chart-{program.code}-{n}", f"{series.name}: 목표 대비 실적")
            for n, (series, chart) in enumerate(
                zip(program.series, program_charts(program, regular), strict=True)
            )
        ]
        for program in report.programs
    }


def render_report_html(report: SetReport, agreement: Decimal | None) -> str:
    return (
        environment(TEMPLATES_DIR)
        .get_template("report.html")
        .render(
            report=report,
            agreement=agreement,
            title=title_of(report),
            num=num,
            pct=pct,
            sources=SOURCE_LABELS,
            origins=ORIGIN_LABELS,
            charts=html_charts(report),
        )
    )


def render_report_pdf(
    report: SetReport, agreement: Decimal | None, font: KoreanFont | None = None
) -> bytes:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table

    regular, bold = korean_fonts(font)
    base = ParagraphStyle("cell", fontName=regular, fontSize=8.5, leading=11)
    title = ParagraphStyle("title", parent=base, fontName=bold, fontSize=15, leading=20)
    heading = ParagraphStyle("heading", parent=base, fontName=bold, fontSize=11, leading=15)

    def para(text: object, style: ParagraphStyle = base) -> Paragraph:
        return Paragraph(xml_escape(str(text)), style)

    def grid(rows: list[list[Any]], widths: list[float]) -> Any:
        return ruled_table([[para(c) for c in row] for row in rows], widths)

    story: list[Any] = [
        para(title_of(report), title),
        grid(
            [
                ["완료율", "목표달성도", "일치도"],
                [pct(report.completion_rate), pct(report.target_rate), pct(agreement)],
            ],
            [60, 60, 60],
        ),
    ]
    for program in report.programs:
        story += [Spacer(1, 5 * mm), para(f"{program.title} ({program.code})", heading)]
        if program.header is not None:
            header = program.header
            staff = ", ".join(f"{m.role} {m.name}" for m in header.staff) or "—"
            department = " ".join(x for x in (header.department, header.team) if x) or "—"
            rows = [
                ["사업기간", header.term, "카드 판", f"제{header.version}판"],
                ["주관부서", department, "담당", staff],
            ]
            story.append(grid(rows, [22, 70, 20, 74]))
            if header.goals:
                story.append(para("목표: " + " ".join(header.goals)))
        story += [
            para(
                f"{program.municipality} · 추진상황 {program.status or '—'} · 사업진도 부서 제시 "
                f"{pct(program.stated_progress)}, 지표로 계산 {pct(program.computed_progress)}"
            ),
            Spacer(1, 2 * mm),
            grid(
                [
                    [
                        "지표",
                        "기간",
                        "목표(A)",
                        "실적(B)",
                        "달성률(B/A)",
                        "산식 · 자료출처 · 수집방법",
                        "출처",
                    ]
                ]
                + [
                    [
                        line.name,
                        line.period,
                        f"{num(line.target)} {line.unit}",
                        num(line.actual),
                        pct(line.achievement),
                        " · ".join(
                            x or "—"
                            for x in (line.formula, line.data_source, line.collection_method)
                        ),
                        ORIGIN_LABELS.get(line.source or "", "미입력"),
                    ]
                    for line in program.indicators
                ],
                [40, 14, 22, 18, 18, 56, 16],
            ),
        ]
        charts = program_charts(program, regular)
        if charts:
            story += [Spacer(1, 2 * mm), para("기간별 목표 대비 실적", heading)]
            pairs = [
                charts[i : i + 2] + [""] * (2 - len(charts[i : i + 2]))
                for i in range(0, len(charts), 2)
            ]
            story.append(Table(pairs, colWidths=[93 * mm, 93 * mm]))
        story += [
            Spacer(1, 2 * mm),
            grid(
                [["재원", "기간", "예산(A)", "집행(B)", "집행률(B/A)"]]
                + [
                    [
                        SOURCE_LABELS.get(b.source, b.source),
                        b.period,
                        num(b.planned),
                        num(b.executed),
                        pct(b.execution_rate),
                    ]
                    for b in program.budget
                ],
                [40, 30, 36, 36, 38],
            ),
        ]
        if program.header is not None and (program.header.plan or program.header.achievements):
            story += [Spacer(1, 2 * mm), para("연차별 추진계획 및 추진실적", heading)]
            for entry in program.header.plan:
                story.append(para(f"[{entry.label or entry.period}] " + " / ".join(entry.items)))
            if program.header.achievements:
                story.append(para("추진실적 총괄: " + " / ".join(program.header.achievements)))
    traces = [(p.code, t) for p in report.programs for t in p.traces]
    story += [
        Spacer(1, 6 * mm),
        para("부록: 산출 근거 (쿼리, 기간, 집계 행 수; 개인정보 없음)", heading),
        grid(
            [["공약", "지표", "기간", "쿼리", "집계 행 수"]]
            + [
                [
                    code,
                    t.indicator,
                    t.period,
                    f"sql/{t.query}.sql",
                    "—" if t.rows_counted is None else f"{t.rows_counted:,}",
                ]
                for code, t in traces
            ],
            [34, 40, 18, 70, 24],
        ),
    ]
    buffer = io.BytesIO()
    document = a4_document(
        buffer,
        title=title_of(report),
        author="통합돌봄 공약 보고",
        font_name=regular,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
    )
    document.build(story)
    return buffer.getvalue()


def indicators_csv(report: SetReport) -> bytes:
    return excel_csv(
        (
            "공약",
            "지표",
            "단위",
            "기간",
            "목표(A)",
            "실적(B)",
            "달성률(B/A) %",
            "출처",
            "검토",
            "산식",
            "자료출처",
            "수집방법",
        ),
        (
            (
                p.code,
                line.name,
                line.unit,
                line.period,
                line.target,
                line.actual,
                line.achievement,
                ORIGIN_LABELS.get(line.source or "", ""),
                line.review_flag or "",
                line.formula or "",
                line.data_source or "",
                line.collection_method or "",
            )
            for p in report.programs
            for line in p.indicators
        ),
    )


def budget_csv(report: SetReport) -> bytes:
    return excel_csv(
        ("공약", "재원", "기간", "예산(A) 백만원", "집행(B) 백만원", "집행률(B/A) %"),
        (
            (
                p.code,
                SOURCE_LABELS.get(b.source, b.source),
                b.period,
                b.planned,
                b.executed,
                b.execution_rate,
            )
            for p in report.programs
            for b in p.budget
        ),
    )


def write_report(report: SetReport, agreement: Decimal | None, out_dir: Path) -> list[Path]:
    """The report's files under ``out_dir/pledges/<year>/``, each written whole."""
    from care_models.pledges.workbook import report_workbook  # it imports this module

    folder = out_dir / "pledges" / str(report.year)
    return [
        write_file(folder / "report.html", render_report_html(report, agreement).encode("utf-8")),
        write_file(folder / "report.pdf", render_report_pdf(report, agreement)),
        write_file(folder / "report.xlsx", report_workbook(report, agreement)),
        write_file(folder / "indicators.csv", indicators_csv(report)),
        write_file(folder / "budget.csv", budget_csv(report)),
    ]


def monthly_title(progress: MonthlyProgress) -> str:
    return f"{progress.year}년 {progress.last_day.month}월 공약 추진상황 점검"


def render_monthly_html(progress: MonthlyProgress) -> str:
    return (
        environment(TEMPLATES_DIR)
        .get_template("monthly.html")
        .render(
            progress=progress,
            title=monthly_title(progress),
            num=num,
            pct=pct,
            origins=ORIGIN_LABELS,
        )
    )


def monthly_csv(progress: MonthlyProgress) -> bytes:
    return excel_csv(
        (
            "공약",
            "지표",
            "단위",
            "합산/수준",
            "연간 목표",
            "누계·현재",
            "목표 대비 %",
            "기대치",
            "부진",
        ),
        (
            (
                line.program,
                line.name,
                line.unit,
                "합산" if line.aggregation == "sum" else "수준",
                line.year_target,
                line.to_date,
                line.share,
                line.expected,
                "부진" if line.behind else "",
            )
            for line in progress.lines
        ),
    )


def write_monthly(progress: MonthlyProgress, out_dir: Path) -> list[Path]:
    """``out_dir/pledges/<year>/monthly/<YYYY-MM>.html`` and ``.csv``, written whole."""
    stem = (
        out_dir / "pledges" / str(progress.year) / "monthly" / progress.last_day.strftime("%Y-%m")
    )
    return [
        write_file(stem.with_suffix(".html"), render_monthly_html(progress).encode("utf-8")),
        write_file(stem.with_suffix(".csv"), monthly_csv(progress)),
    ]
