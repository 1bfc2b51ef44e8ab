"""The printable agenda, in Korean, HTML and PDF: the external copy and the chair's.

The **external copy** goes to providers and other agencies with the invitation: per
item only the case's number, the age band, the town, the need categories, the kind,
whether it is discussed, and the question for the conference. Never a name, a
resident registration number, a phone or an address.

The **chair's copy** adds each person's name, read through
:func:`care_models.privacy.reveal` (one audit row per person, with the reader and the
conference), and is only served on the authenticated staff page.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.errors import NotFoundError
from care_models.privacy import Vault, reveal
from care_models.rendering.fonts import KoreanFont
from care_models.rendering.html import TEMPLATES_ROOT, environment
from care_models.rendering.labels import (
    AGENDA_KIND_LABELS,
    NEED_CATEGORY_LABELS,
    PRIVACY_NOTICE,
    korean_date,
)
from care_models.rendering.pdf import a4_document, korean_fonts, ruled_table
from care_models.schema import AgendaItem, Case, Client, Conference, Need, Town
from care_models.workdays import SEOUL

TEMPLATES_DIR = TEMPLATES_ROOT / "conferences"
EXTERNAL_NOTICE = (
    "외부 배포용: 개인을 알아볼 수 있는 정보(이름·주민등록번호·연락처·주소)는 싣지 않습니다."
)


@dataclass(frozen=True)
class AgendaLine:
    position: int
    case_id: int
    case_number: str
    age_band: str
    town: str
    categories: tuple[str, ...]
    need_ids: tuple[tuple[int, str], ...]  # (need id, category label), for the decision form
    kind: str
    full: bool
    late: bool
    question: str
    history: str | None
    name: str | None = None  # the chair's copy only

    def __repr__(self) -> str:  # never print a name by accident
        return f"AgendaLine(position={self.position}, case={self.case_number})"


@dataclass(frozen=True)
class Agenda:
    conference_id: int
    title: str
    when: str
    tier: int
    frozen: bool
    lines: tuple[AgendaLine, ...]
    chair_copy: bool

    @property
    def discussed(self) -> int:
        return sum(1 for line in self.lines if line.full)


def case_number(case_id: int) -> str:
    return f"사례-{case_id:06d}"


def age_band(birth_year: int, on: dt.date) -> str:
    age = on.year - birth_year
    return f"{age // 10 * 10}대"


def build_agenda_document(
    session: Session,
    conference_id: int,
    *,
    vault: Vault | None = None,
    actor: str | None = None,
) -> Agenda:
    """The agenda; with ``vault`` and ``actor`` the chair's copy (names, audited)."""
    conference = session.get(Conference, conference_id)
    if conference is None:
        raise NotFoundError(f"conference {conference_id} does not exist")
    town = session.get(Town, conference.town_id) if conference.town_id else None
    rows = session.execute(
        select(AgendaItem, Case, Client, Town.name)
        .join(Case, Case.id == AgendaItem.case_id)
        .join(Client, Client.id == Case.client_id)
        .join(Town, Town.id == Case.town_id)
        .where(AgendaItem.conference_id == conference_id)
        .order_by(AgendaItem.position, AgendaItem.id)
    ).all()
    histories = {
        item.id: day
        for item, day in session.execute(
            select(AgendaItem, Conference.scheduled_on).join(
                Conference, Conference.id == AgendaItem.conference_id
            )
        ).all()
    }
    lines = []
    for item, case, client, town_name in rows:
        needs = session.execute(
            select(Need.id, Need.category).where(Need.case_id == case.id).order_by(Need.id)
        ).all()
        name = None
        if vault is not None and actor is not None:
            name = reveal(
                session,
                vault,
                client,
                ("name",),
                actor=actor,
                purpose=f"agenda chair copy for conference {conference_id}",
            )["name"]
        carried = histories.get(item.carried_from_id) if item.carried_from_id else None
        lines.append(
            AgendaLine(
                position=item.position,
                case_id=case.id,
                case_number=case_number(case.id),
                age_band=age_band(client.birth_year, conference.scheduled_on),
                town=town_name,
                categories=tuple(sorted({NEED_CATEGORY_LABELS.get(c, c) for _, c in needs if c})),
                need_ids=tuple((nid, NEED_CATEGORY_LABELS.get(c, c)) for nid, c in needs),
                kind=AGENDA_KIND_LABELS.get(item.kind, item.kind),
                full=item.discussion == "full",
                late=item.late,
                question=item.question or "",
                history=f"{carried} 회의에서 이월" if carried else None,
                name=name,
            )
        )
    tier_title = f"1단계 사례회의 ({town.name})" if town else "2단계 통합사례회의"
    start = conference.starts_at
    when = korean_date(conference.scheduled_on)
    if start is not None:
        local = (start if start.tzinfo else start.replace(tzinfo=dt.UTC)).astimezone(SEOUL)
        when += f" {local:%H:%M}"
    return Agenda(
        conference_id=conference.id,
        title=f"통합돌봄 {tier_title} 안건",
        when=when,
        tier=conference.tier,
        frozen=conference.agenda_status == "frozen",
        lines=tuple(lines),
        chair_copy=vault is not None,
    )


def render_agenda_html(agenda: Agenda) -> str:
    notice = PRIVACY_NOTICE if agenda.chair_copy else EXTERNAL_NOTICE
    return (
        environment(TEMPLATES_DIR).get_template("agenda.html").render(agenda=agenda, notice=notice)
    )


def render_agenda_pdf(agenda: Agenda, font: KoreanFont | None = None) -> bytes:
    """The agenda as an A4 PDF; the same agenda, the same bytes."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    regular, bold = korean_fonts(font)
    base = ParagraphStyle("cell", fontName=regular, fontSize=8.5, leading=11)
    title = ParagraphStyle("title", parent=base, fontName=bold, fontSize=15, leading=20)

    def para(text: object) -> Paragraph:
        return Paragraph(xml_escape(str(text)), base)

    head = ["순서", "사례", "연령대", "읍·면", "욕구 영역", "구분", "논의", "질문"]
    if agenda.chair_copy:
        head.insert(2, "이름")
    rows: list[list[Any]] = [[para(h) for h in head]]
    for line in agenda.lines:
        cells = [
            line.position,
            line.case_number + (" (추가)" if line.late else ""),
            line.age_band,
            line.town,
            ", ".join(line.categories),
            line.kind + (f" · {line.history}" if line.history else ""),
            "전체 논의" if line.full else "표준 계획",
            line.question,
        ]
        if agenda.chair_copy:
            cells.insert(2, line.name or "")
        rows.append([para(c) for c in cells])
    widths = (
        [10, 24, 14, 16, 30, 28, 16, 42]
        if not agenda.chair_copy
        else [9, 22, 16, 12, 14, 26, 24, 14, 43]
    )
    table = ruled_table(rows, widths)
    notice = PRIVACY_NOTICE if agenda.chair_copy else EXTERNAL_NOTICE
    story = [
        Paragraph(xml_escape(agenda.title), title),
        para(
            f"{agenda.when} · 안건 {len(agenda.lines)}건 (전체 논의 {agenda.discussed}건)"
            + ("" if agenda.frozen else " · 확정 전")
        ),
        Spacer(1, 4 * mm),
        table,
        Spacer(1, 4 * mm),
        para(notice),
    ]
    buffer = io.BytesIO()
    document = a4_document(
        buffer,
        title=agenda.title,
        author="통합돌봄 사례회의",
        font_name=regular,
        leftMargin=10 * mm,
        rightMargin=10 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
    )
    document.build(story)
    return buffer.getvalue()
