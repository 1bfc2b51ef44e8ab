"""The missing-person report to the police, day 2 afternoon, as a printable Korean page.

The report exists once the day-2 home visit did not find the person (the protocol's
``day2_police_report`` step). It carries what the police need to find somebody, and
nothing more:

- the person: name, sex, birth year and age, and the home address (the police open
  that door); never the resident registration number, phone numbers, diagnoses or
  the guardian's details (the desk gives those by phone when asked);
- the last signs of life: each alert of the incident, with its device and time;
- what was done: each protocol step with its time, outcome and the worker's code.

Building it decrypts two fields of one client, so each build writes one audit row
(:func:`care_models.privacy.reveal`) with the actor and the incident.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.errors import NotFoundError, ValidationError
from care_models.privacy import Vault, reveal
from care_models.rendering.atomic import write_file
from care_models.rendering.fonts import KoreanFont
from care_models.rendering.html import TEMPLATES_ROOT, environment
from care_models.rendering.labels import (
    ALERT_KIND_LABELS,
    DEVICE_TYPE_LABELS,
    ESCALATION_STEP_LABELS,
    PRIVACY_NOTICE,
    SEX_LABELS,
    STEP_OUTCOME_LABELS,
)
from care_models.rendering.pdf import a4_document, korean_fonts, ruled_table
from care_models.schema import Alert, Client, Device, EscalationStep, Incident, Staff, Town
from care_models.workdays import SEOUL

TEMPLATES_DIR = TEMPLATES_ROOT / "alerts"
REPORT_FIELDS = ("name", "address")


@dataclass(frozen=True)
class SignOfLife:
    at: str  # Asia/Seoul, minutes
    device: str
    what: str
    passed_to_119: bool


@dataclass(frozen=True)
class StepTaken:
    step: str
    due: str
    done: str | None
    outcome: str | None
    staff_code: str | None


@dataclass(frozen=True)
class PoliceReport:
    incident_id: int
    client_code: str
    town: str
    name: str
    sex: str
    birth_year: int
    age: int
    address: str
    opened_at: str
    signs: tuple[SignOfLife, ...]
    steps: tuple[StepTaken, ...]
    prepared_by: str
    prepared_at: str

    def __repr__(self) -> str:  # never print personal values by accident
        return f"PoliceReport(incident={self.incident_id}, <redacted>)"

    @property
    def title(self) -> str:
        return f"실종(소재불명) 신고서 · 사건 {self.incident_id}"


def _seoul(stamp: dt.datetime | None) -> str | None:
    if stamp is None:
        return None
    aware = stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
    return aware.astimezone(SEOUL).strftime("%Y-%m-%d %H:%M")


def purpose_of(incident_id: int) -> str:
    """The audit purpose of decrypting a client into the police report."""
    return f"police report for incident {incident_id}"


def build_police_report(
    session: Session, vault: Vault, incident_id: int, *, actor: str, now: dt.datetime
) -> PoliceReport:
    """The report of an incident whose day-2 visit did not find the person (audited read)."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFoundError(f"incident {incident_id} does not exist")
    steps = session.scalars(
        select(EscalationStep)
        .where(EscalationStep.incident_id == incident_id)
        .order_by(EscalationStep.due_at, EscalationStep.id)
    ).all()
    if not any(s.step == "day2_police_report" for s in steps):
        raise ValidationError(
            "incident", "has no police-report step: the day-2 visit has not reported 'not found'"
        )
    client = session.get(Client, incident.client_id)
    if client is None:
        raise NotFoundError(f"incident {incident_id}: client does not exist")
    town = session.get(Town, client.town_id)
    staff_codes = dict(session.execute(select(Staff.id, Staff.code)).all())
    alerts = session.execute(
        select(Alert, Device.device_type)
        .outerjoin(Device, Device.id == Alert.device_id)
        .where(Alert.incident_id == incident_id)
        .order_by(Alert.occurred_at, Alert.id)
    ).all()
    values = reveal(
        session, vault, client, REPORT_FIELDS, actor=actor, purpose=purpose_of(incident_id)
    )
    today = now.astimezone(SEOUL).date()
    return PoliceReport(
        incident_id=incident.id,
        client_code=client.code,
        town=town.name if town else "",
        name=values["name"] or "",
        sex=SEX_LABELS.get(client.sex, client.sex),
        birth_year=client.birth_year,
        age=today.year - client.birth_year,
        address=values["address"] or "",
        opened_at=_seoul(incident.opened_at) or "",
        signs=tuple(
            SignOfLife(
                at=_seoul(alert.occurred_at) or "",
                device=DEVICE_TYPE_LABELS.get(device_type or "", device_type or "—"),
                what=ALERT_KIND_LABELS.get(alert.kind, alert.kind),
                passed_to_119=alert.passed_to_119,
            )
            for alert, device_type in alerts
        ),
        steps=tuple(
            StepTaken(
                step=ESCALATION_STEP_LABELS.get(s.step, s.step),
                due=_seoul(s.due_at) or "",
                done=_seoul(s.done_at),
                outcome=STEP_OUTCOME_LABELS.get(s.outcome or "", s.outcome),
                staff_code=staff_codes.get(s.staff_id) if s.staff_id else None,
            )
            for s in steps
        ),
        prepared_by=actor,
        prepared_at=_seoul(now) or "",
    )


def render_police_report_html(report: PoliceReport) -> str:
    return (
        environment(TEMPLATES_DIR)
        .get_template("police_report.html")
        .render(report=report, notice=PRIVACY_NOTICE)
    )


def render_police_report_pdf(report: PoliceReport, font: KoreanFont | None = None) -> bytes:
    """The report as an A4 PDF with a Korean font; the same report, the same bytes."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    regular, bold = korean_fonts(font)
    base = ParagraphStyle("cell", fontName=regular, fontSize=9.5, leading=12.5)
    title = ParagraphStyle("title", parent=base, fontName=bold, fontSize=16, leading=21)
    heading = ParagraphStyle("heading", parent=base, fontName=bold, fontSize=11.5, leading=16)

    def para(text: object, style: ParagraphStyle = base) -> Paragraph:
        return Paragraph(xml_escape(str(text)), style)

    person = [
        [para("항목"), para("내용")],
        [para("성명"), para(report.name)],
        [
            para("성별 · 출생연도"),
            para(f"{report.sex} · {report.birth_year}년생 (만 {report.age}세 무렵)"),
        ],
        [para("주소 (자택)"), para(report.address)],
        [para("관할 읍·면 · 사례번호"), para(f"{report.town} · {report.client_code}")],
    ]
    signs = [[para(h) for h in ("시각", "기기", "내용", "119 전달")]] + [
        [para(s.at), para(s.device), para(s.what), para("예" if s.passed_to_119 else "—")]
        for s in report.signs
    ]
    steps = [[para(h) for h in ("단계", "기한", "조치 시각", "결과", "담당")]] + [
        [
            para(s.step),
            para(s.due),
            para(s.done or "—"),
            para(s.outcome or "—"),
            para(s.staff_code or "—"),
        ]
        for s in report.steps
    ]
    story = [
        para("실종(소재불명) 신고서", title),
        para(f"안부 확인 대상자 · 사건 번호 {report.incident_id} · 사건 시작 {report.opened_at}"),
        Spacer(1, 4 * mm),
        para("1. 대상자", heading),
        ruled_table(person, [45, 135]),
        Spacer(1, 4 * mm),
        para("2. 마지막 생활 신호", heading),
        ruled_table(signs, [35, 45, 75, 25]),
        Spacer(1, 4 * mm),
        para("3. 확인 조치 경과", heading),
        ruled_table(steps, [50, 32, 32, 40, 26]),
        Spacer(1, 5 * mm),
        para(f"작성 {report.prepared_at} · 작성자 {report.prepared_by}"),
        Spacer(1, 3 * mm),
        para(PRIVACY_NOTICE, ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5)),
    ]
    buffer = io.BytesIO()
    document = a4_document(
        buffer,
        title=report.title,
        author="통합돌봄 안부 확인",
        font_name=regular,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )
    document.build(story)
    return buffer.getvalue()


def write_police_report(report: PoliceReport, out_dir: Path) -> tuple[Path, Path]:
    """Write the report's HTML and PDF under ``out_dir/police/`` (each replaced whole)."""
    folder = out_dir / "police"
    stem = f"police-report-{report.incident_id}"
    html = write_file(folder / f"{stem}.html", render_police_report_html(report).encode("utf-8"))
    pdf = write_file(folder / f"{stem}.pdf", render_police_report_pdf(report))
    return html, pdf
