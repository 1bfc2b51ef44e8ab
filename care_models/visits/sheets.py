"""A coordinator's day sheet: what it holds, as printable HTML and as an A4 PDF.

The PDF embeds a Korean TrueType font (:mod:`care_models.rendering.fonts`) and is
written in reportlab's invariant mode: the same sheet gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from care_models.rendering.fonts import KoreanFont
from care_models.rendering.html import TEMPLATES_ROOT, environment
from care_models.rendering.labels import (
    MODE_LABELS,
    PRIVACY_NOTICE,
    ROLE_LABELS,
    SERVICE_LABELS,
    korean_date,
)
from care_models.rendering.pdf import a4_document, korean_fonts
from care_models.visits.model import PlannedStop

TEMPLATES_DIR = TEMPLATES_ROOT / "visits"


# -- what a sheet holds ---------------------------------------------------------------


@dataclass(frozen=True)
class Personal:
    """The decrypted fields of one client, for one coordinator's own files only."""

    name: str
    address: str
    phone: str | None = None

    def __repr__(self) -> str:  # never print personal values by accident
        return "Personal(<redacted>)"


@dataclass(frozen=True)
class SheetStop:
    stop: PlannedStop
    person: Personal
    window: tuple[dt.time, dt.time] | None = None
    checklist: tuple[str, ...] = ()  # e.g. the day-2 protocol visit's questions

    @property
    def end(self) -> dt.time:
        moment = dt.datetime.combine(self.stop.day, self.stop.start)
        return (moment + dt.timedelta(minutes=self.stop.duration_min)).time()

    @property
    def time_range(self) -> str:
        return f"{self.stop.start:%H:%M}–{self.end:%H:%M}"

    @property
    def service_label(self) -> str:
        return SERVICE_LABELS.get(self.stop.service_type, self.stop.service_type)

    @property
    def mode_label(self) -> str:
        return MODE_LABELS.get(self.stop.mode, self.stop.mode)

    @property
    def first_visit(self) -> bool:
        return self.stop.service_type == "first_assessment"

    @property
    def purpose_detail(self) -> str | None:
        """The planner's purpose text, when it says more than the service label."""
        text = self.stop.purpose.strip()
        return None if not text or text == self.service_label else text

    @property
    def phone_href(self) -> str | None:
        if not self.person.phone:
            return None
        digits = re.sub(r"[^\d+]", "", self.person.phone)
        return f"tel:{digits}" if digits else None

    def notes(self, from_office: bool) -> tuple[str, ...]:
        notes: list[str] = []
        if self.first_visit:
            notes.append("첫 방문")
        if self.stop.mode == "phone":
            notes.append("전화 연락 (방문 아님)")
        else:
            origin = "사무소에서" if from_office else "이전 방문지에서"
            notes.append(f"{origin} 이동 {self.stop.travel_min}분 · {self.stop.travel_km:.1f} km")
        if self.window:
            notes.append(f"희망 시간대 {self.window[0]:%H:%M}–{self.window[1]:%H:%M}")
        notes.extend(f"□ {check}" for check in self.checklist)
        return tuple(notes)


@dataclass(frozen=True)
class DaySheet:
    """One coordinator's day: the stops in order with what they need to know."""

    staff_code: str
    day: dt.date
    stops: tuple[SheetStop, ...]
    staff_name: str | None = None
    role: str | None = None
    office_name: str | None = None
    return_km: float = 0.0

    @property
    def visits(self) -> int:
        return sum(1 for s in self.stops if s.stop.mode != "phone")

    @property
    def calls(self) -> int:
        return sum(1 for s in self.stops if s.stop.mode == "phone")

    @property
    def km(self) -> float:
        return sum(s.stop.travel_km for s in self.stops) + self.return_km

    @property
    def role_label(self) -> str | None:
        return ROLE_LABELS.get(self.role, self.role) if self.role else None

    @property
    def title(self) -> str:
        return f"방문 일정표 {self.staff_code} {self.day.isoformat()}"

    def rows(self) -> list[tuple[SheetStop, tuple[str, ...]]]:
        """Each stop with its notes (the first visit of the day travels from the office)."""
        rows = []
        moved = False
        for stop in self.stops:
            rows.append((stop, stop.notes(from_office=not moved)))
            moved = moved or stop.stop.mode != "phone"
        return rows


def render_day_sheet_html(sheet: DaySheet) -> str:
    return (
        environment(TEMPLATES_DIR)
        .get_template("day_sheet.html")
        .render(sheet=sheet, notice=PRIVACY_NOTICE, service_labels=SERVICE_LABELS)
    )


# -- PDF ----------------------------------------------------------------------------------


def render_day_sheet_pdf(sheet: DaySheet, font: KoreanFont | None = None) -> bytes:
    """The day sheet as an A4 PDF embedding a Korean TrueType font; same sheet, same bytes."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

    regular, bold = korean_fonts(font)
    base = ParagraphStyle("cell", fontName=regular, fontSize=9, leading=11.5)
    small = ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5)
    head = ParagraphStyle("head", parent=base, fontName=bold, fontSize=8.5, alignment=TA_CENTER)
    title = ParagraphStyle("title", parent=base, fontName=bold, fontSize=16, leading=21)
    meta = ParagraphStyle("meta", parent=base, fontSize=10, leading=14)
    order = ParagraphStyle("order", parent=head, fontSize=12, leading=14)

    def para(text: str, style: ParagraphStyle = base) -> Paragraph:
        return Paragraph(xml_escape(text), style)

    header = [
        Paragraph("방문 일정표 <font size=9 color='#666666'>Day sheet</font>", title),
        Paragraph(
            xml_escape(
                " · ".join(
                    part
                    for part in (
                        korean_date(sheet.day),
                        _staff_line(sheet),
                        f"{sheet.office_name} 사무소" if sheet.office_name else None,
                    )
                    if part
                )
            ),
            meta,
        ),
        para(
            f"방문 {sheet.visits}건 · 전화 {sheet.calls}건 · "
            f"이동 {sheet.km:.1f} km (사무소 복귀 포함)",
            meta,
        ),
        Spacer(1, 4 * mm),
    ]
    rows: list[list[Any]] = [
        [
            para(h, head)
            for h in ("순서", "시간", "대상자", "주소", "목적", "비고", "연락처", "확인")
        ]
    ]
    for stop, notes in sheet.rows():
        purpose = xml_escape(stop.service_label)
        if stop.first_visit:
            purpose = f"<b>{purpose}</b>"
        if stop.purpose_detail:
            purpose += f"<br/><font size=7 color='#555555'>{xml_escape(stop.purpose_detail)}</font>"
        rows.append(
            [
                Paragraph(str(stop.stop.sequence), order),
                Paragraph(
                    f"{stop.time_range}<br/><font size=7.5 color='#555555'>"
                    f"{xml_escape(stop.mode_label)}</font>",
                    base,
                ),
                Paragraph(
                    f"<b>{xml_escape(stop.person.name)}</b><br/>"
                    f"<font size=7 color='#555555'>{xml_escape(stop.stop.client_code)}</font>",
                    base,
                ),
                para(stop.person.address),
                Paragraph(purpose, base),
                Paragraph(_pdf_notes(stop, notes), small),
                para(stop.person.phone or "—"),
                "",
            ]
        )
    widths = [10 * mm, 23 * mm, 22 * mm, 39 * mm, 24 * mm, 31 * mm, 27 * mm, 10 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#888888")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
    for index, (stop, _notes) in enumerate(sheet.rows(), start=1):
        if stop.stop.mode == "phone":
            style.append(("BACKGROUND", (0, index), (-1, index), colors.HexColor("#f4f4f4")))
    table.setStyle(TableStyle(style))
    footer = [
        Spacer(1, 3 * mm),
        para(f"마지막 방문지 → 사무소 복귀 {sheet.return_km:.1f} km", meta),
        Spacer(1, 4 * mm),
        para(PRIVACY_NOTICE, small),
    ]

    def page_footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(regular, 7.5)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.drawString(
            12 * mm, 8 * mm, f"{sheet.staff_code} · {sheet.day.isoformat()} · 개인정보 포함"
        )
        canvas.drawRightString(A4[0] - 12 * mm, 8 * mm, f"{doc.page}쪽")
        canvas.restoreState()

    buffer = io.BytesIO()
    document = a4_document(
        buffer,
        title=sheet.title,
        author="통합돌봄 방문 계획",
        font_name=regular,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
    )
    document.build([*header, table, *footer], onFirstPage=page_footer, onLaterPages=page_footer)
    return buffer.getvalue()


def _pdf_notes(stop: SheetStop, notes: Sequence[str]) -> str:
    lines = [xml_escape(n) for n in notes]
    if stop.first_visit and lines:
        lines[0] = f"<b><font color='#b3261e'>{lines[0]}</font></b>"
    return "<br/>".join(lines)


def _staff_line(sheet: DaySheet) -> str:
    line = sheet.staff_code
    if sheet.staff_name:
        line += f" {sheet.staff_name}"
    if sheet.role_label:
        line += f" ({sheet.role_label})"
    return line
