"""Publishing a home-visit plan: what each coordinator carries and what the team lead sees.

For every coordinator and every day with stops, :func:`publish_plan` writes a
**day sheet** (printable HTML and a PDF embedding a Korean font) listing each stop
with its time, the client's name, address and phone, the purpose and notes; for
the horizon, a calendar (``.ics``) and a CSV (UTF-8 with BOM, for Excel). For the
team lead, a **team overview** (HTML) shows the week per person and, per day, each
coordinator's route as an inline SVG map, and lists the contacts left unplanned.

Layout under ``out_dir``::

    visits/<horizon_start>/team_overview.html
    visits/<horizon_start>/<staff code>/<staff code>_<day>.html
    visits/<horizon_start>/<staff code>/<staff code>_<day>.pdf
    visits/<horizon_start>/<staff code>/<staff code>_<horizon_start>_<horizon_end>.ics
    visits/<horizon_start>/<staff code>/<staff code>_<horizon_start>_<horizon_end>.csv

Privacy: names, addresses and phones are decrypted only into the coordinator's own
files, through :func:`care_models.privacy.reveal` (one audit row per client per day
sheet; the audit rows are added to the caller's session, which commits them). The
team overview holds codes only. Nothing personal is logged.

Everything is written into a private staging directory and renamed into place at
the end, so a failure publishes nothing; publishing the same plan again gives the
same bytes (the PDFs are written in reportlab's invariant mode).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from icalendar import Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.errors import ValidationError
from care_models.privacy import Vault, reveal
from care_models.rendering.atomic import staged_directory
from care_models.rendering.fonts import KoreanFont, find_korean_font
from care_models.rendering.html import TEMPLATES_ROOT, environment
from care_models.rendering.ics import SEOUL_ZONE, calendar_bytes, new_calendar
from care_models.rendering.labels import (
    MODE_LABELS,
    PRIVACY_NOTICE,
    ROLE_LABELS,
    SERVICE_LABELS,
    korean_date,
)
from care_models.rendering.pdf import a4_document, korean_fonts
from care_models.rendering.tables import excel_csv
from care_models.schema import Client, Staff, Town, Visit
from care_models.visits.model import Coordinator, Place, Plan, PlannedStop
from care_models.workdays import SEOUL, is_business_day

log = logging.getLogger(__name__)

DEFAULT_ACTOR = "home_visit_planning"
REVEALED_FIELDS = ("name", "address", "phone")
TEMPLATES_DIR = TEMPLATES_ROOT / "visits"
PRODID = "-//Integrated Community Care//Home visits//KO"

CSV_COLUMNS = (
    "date",
    "order",
    "start",
    "end",
    "client_code",
    "client_name",
    "address",
    "phone",
    "purpose",
    "mode",
    "travel_km",
)
ROUTE_COLOURS = (
    "#1f6fb2",
    "#d1495b",
    "#2a9d4b",
    "#8a4fbf",
    "#e07b00",
    "#00838f",
    "#7a5c2e",
    "#c2185b",
)
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


# -- calendar and CSV ---------------------------------------------------------------------


def event_uid(contact_key: str) -> str:
    """The calendar UID of a contact: the same contact key, the same event."""
    return f"{contact_key}@home-visits.integrated-care"


def render_calendar(staff_code: str, stops: Iterable[SheetStop]) -> bytes:
    """One VEVENT per stop, Asia/Seoul times with a VTIMEZONE, UIDs from contact keys."""
    ordered = sorted(stops, key=lambda s: (s.stop.day, s.stop.sequence, s.stop.contact_key))
    calendar = new_calendar(PRODID, f"{staff_code} 방문 일정")
    if not ordered:
        return calendar_bytes(calendar)
    first, last = ordered[0].stop.day, ordered[-1].stop.day
    # Deterministic: the stamp is the start of the first day, not the time of publishing.
    stamp = dt.datetime.combine(first, dt.time(0), SEOUL).astimezone(dt.UTC)
    sheets: dict[dt.date, list[SheetStop]] = {}
    for stop in ordered:
        sheets.setdefault(stop.stop.day, []).append(stop)
    for day_stops in sheets.values():
        day_sheet = DaySheet(staff_code, day_stops[0].stop.day, tuple(day_stops))
        for stop, notes in day_sheet.rows():
            s = stop.stop
            event = Event()
            event.add("uid", event_uid(s.contact_key))
            event.add("dtstamp", stamp)
            event.add("dtstart", dt.datetime.combine(s.day, s.start, SEOUL_ZONE))
            event.add("dtend", dt.datetime.combine(s.day, stop.end, SEOUL_ZONE))
            prefix = "[전화] " if s.mode == "phone" else ""
            event.add("summary", f"{prefix}{stop.service_label} · {stop.person.name}")
            event.add("location", stop.person.address)
            description = [f"순서 {s.sequence} · {stop.mode_label}"]
            if stop.purpose_detail:
                description.append(stop.purpose_detail)
            description.extend(notes)
            description.append(f"연락처 {stop.person.phone or '—'}")
            description.append(f"대상자 코드 {s.client_code}")
            event.add("description", "\n".join(description))
            event.add("categories", [stop.service_label])
            event.add("transp", "OPAQUE")
            calendar.add_component(event)
    return calendar_bytes(calendar, first, last)


def render_csv(stops: Iterable[SheetStop]) -> bytes:
    """The coordinator's stops as CSV, UTF-8 with BOM so Excel shows Hangul."""
    rows = []
    for stop in sorted(stops, key=lambda s: (s.stop.day, s.stop.sequence)):
        s = stop.stop
        rows.append(
            (
                s.day.isoformat(),
                s.sequence,
                f"{s.start:%H:%M}",
                f"{stop.end:%H:%M}",
                s.client_code,
                stop.person.name,
                stop.person.address,
                stop.person.phone or "",
                stop.service_label,
                s.mode,
                f"{s.travel_km:.1f}",
            )
        )
    return excel_csv(CSV_COLUMNS, rows)


# -- team overview ------------------------------------------------------------------------


@dataclass(frozen=True)
class MapPoint:
    x: float
    y: float
    label: str
    title: str


@dataclass(frozen=True)
class MapRoute:
    staff_code: str
    colour: str
    office: MapPoint
    stops: tuple[MapPoint, ...]
    label_y: float = 0.0  # offices shared by several coordinators stack their labels

    @property
    def points(self) -> str:
        chain = (self.office, *self.stops, self.office)
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in chain)


@dataclass(frozen=True)
class DayMap:
    day: dt.date
    width: int
    height: int
    routes: tuple[MapRoute, ...]
    scale_px: float
    scale_label: str


@dataclass(frozen=True)
class Projection:
    """Equirectangular: x east, y south, one scale for both after cos(latitude)."""

    min_x: float
    max_lat: float
    scale: float
    cos_lat: float
    pad_x: float
    pad_y: float

    def __call__(self, place: Place) -> tuple[float, float]:
        x = self.pad_x + (place.longitude * self.cos_lat - self.min_x) * self.scale
        y = self.pad_y + (self.max_lat - place.latitude) * self.scale
        return round(x, 1), round(y, 1)


def fit_projection(
    places: Sequence[Place], width: int = 640, max_height: int = 520, pad: int = 30
) -> tuple[Projection, int]:
    """A projection fitting ``places`` into ``width`` (and at most ``max_height``)."""
    if not places:
        raise ValueError("nothing to draw")
    cos_lat = math.cos(math.radians(sum(p.latitude for p in places) / len(places)))
    xs = [p.longitude * cos_lat for p in places]
    lats = [p.latitude for p in places]
    span_x = max(max(xs) - min(xs), 0.005)
    span_y = max(max(lats) - min(lats), 0.005)
    scale = min((width - 2 * pad) / span_x, (max_height - 2 * pad) / span_y)
    height = max(200, math.ceil(span_y * scale + 2 * pad))
    pad_x = (width - (max(xs) - min(xs)) * scale) / 2
    pad_y = (height - (max(lats) - min(lats)) * scale) / 2
    return Projection(min(xs), max(lats), scale, cos_lat, pad_x, pad_y), height


KM_PER_DEGREE = 111.32


def _scale_bar(projection: Projection, width: int) -> tuple[float, str]:
    px_per_km = projection.scale / KM_PER_DEGREE
    for km in (50, 20, 10, 5, 2, 1, 0.5, 0.2, 0.1):
        if km * px_per_km <= width / 4:
            return round(km * px_per_km, 1), f"{km:g} km"
    return round(0.1 * px_per_km, 1), "0.1 km"


def day_map(
    day: dt.date,
    plan: Plan,
    coordinators: Sequence[Coordinator],
    places: Mapping[int, Place],
    width: int = 640,
) -> DayMap | None:
    """The routes of the day (office → visits → office); calls do not travel, so not drawn."""
    colours = _colours(coordinators)
    legs: list[tuple[Coordinator, list[PlannedStop]]] = []
    for coordinator in sorted(coordinators, key=lambda c: c.code):
        visits = [
            s
            for s in plan.day_of(coordinator.code, day)
            if s.mode != "phone" and s.client_id in places
        ]
        if visits:
            legs.append((coordinator, visits))
    if not legs:
        return None
    every = [c.office for c, _ in legs] + [places[s.client_id] for _, v in legs for s in v]
    projection, height = fit_projection(every, width)
    routes = []
    sharing: dict[tuple[float, float], int] = {}
    for coordinator, visits in legs:
        ox, oy = projection(coordinator.office)
        stacked = sharing.get((ox, oy), 0)
        sharing[(ox, oy)] = stacked + 1
        office = MapPoint(ox, oy, coordinator.code, f"{coordinator.code} 사무소")
        points = []
        for stop in visits:
            x, y = projection(places[stop.client_id])
            service = SERVICE_LABELS.get(stop.service_type, stop.service_type)
            points.append(
                MapPoint(
                    x,
                    y,
                    str(stop.sequence),
                    f"{coordinator.code} #{stop.sequence} {stop.client_code} {service}",
                )
            )
        routes.append(
            MapRoute(
                coordinator.code,
                colours[coordinator.code],
                office,
                tuple(points),
                label_y=round(oy - 10 - 14 * stacked, 1),
            )
        )
    scale_px, scale_label = _scale_bar(projection, width)
    return DayMap(day, width, height, tuple(routes), scale_px, scale_label)


def _colours(coordinators: Sequence[Coordinator]) -> dict[str, str]:
    codes = sorted(c.code for c in coordinators)
    return {code: ROUTE_COLOURS[i % len(ROUTE_COLOURS)] for i, code in enumerate(codes)}


@dataclass(frozen=True)
class DayCount:
    visits: int = 0
    calls: int = 0
    km: float = 0.0
    working: bool = True
    hours: str = ""

    @property
    def empty(self) -> bool:
        return not (self.visits or self.calls)


@dataclass(frozen=True)
class PersonWeek:
    code: str
    role: str
    office: str
    colour: str
    days: tuple[DayCount, ...]

    @property
    def visits(self) -> int:
        return sum(c.visits for c in self.days)

    @property
    def calls(self) -> int:
        return sum(c.calls for c in self.days)

    @property
    def km(self) -> float:
        return sum(c.km for c in self.days)


def _horizon_days(plan: Plan) -> list[dt.date]:
    days = []
    day = plan.horizon_start
    stop_days = {s.day for s in plan.stops}
    while day <= plan.horizon_end:
        if is_business_day(day) or day in stop_days:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def render_team_overview(
    plan: Plan,
    coordinators: Sequence[Coordinator],
    places: Mapping[int, Place],
    office_names: Mapping[str, str] | None = None,
) -> str:
    """The team lead's page: codes only, never a name, phone or address."""
    office_names = office_names or {}
    days = _horizon_days(plan)
    colours = _colours(coordinators)
    people: list[PersonWeek] = []
    for coordinator in sorted(coordinators, key=lambda c: c.code):
        counts = []
        for day in days:
            stops = plan.day_of(coordinator.code, day)
            counts.append(
                DayCount(
                    visits=sum(1 for s in stops if s.mode != "phone"),
                    calls=sum(1 for s in stops if s.mode == "phone"),
                    km=sum(s.travel_km for s in stops)
                    + plan.return_km.get((coordinator.code, day), 0.0),
                    working=coordinator.works_on(day),
                    hours=_first_last(stops),
                )
            )
        people.append(
            PersonWeek(
                code=coordinator.code,
                role=ROLE_LABELS.get(coordinator.role, coordinator.role),
                office=office_names.get(coordinator.town_code, coordinator.town_code),
                colour=colours[coordinator.code],
                days=tuple(counts),
            )
        )
    maps = [
        {
            "day": day,
            "map": day_map(day, plan, coordinators, places),
            "people": [(p, p.days[i]) for p in people if not p.days[i].empty],
        }
        for i, day in enumerate(days)
    ]
    reasons: dict[str, int] = {}
    for item in plan.unplanned:
        reasons[item.reason] = reasons.get(item.reason, 0) + 1
    return (
        environment(TEMPLATES_DIR)
        .get_template("team_overview.html")
        .render(
            plan=plan,
            days=days,
            people=people,
            maps=maps,
            unplanned=sorted(plan.unplanned, key=lambda u: (u.client_code, u.contact_key)),
            reasons=sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])),
            service_labels=SERVICE_LABELS,
            total_km=sum(p.km for p in people),
            total_visits=sum(p.visits for p in people),
            total_calls=sum(p.calls for p in people),
        )
    )


def _first_last(stops: Sequence[PlannedStop]) -> str:
    if not stops:
        return ""
    first = stops[0]
    last = stops[-1]
    end = dt.datetime.combine(last.day, last.start) + dt.timedelta(minutes=last.duration_min)
    return f"{first.start:%H:%M}–{end:%H:%M}"


# -- reading the database -------------------------------------------------------------------


def _clients(session: Session, ids: Iterable[int]) -> dict[int, Client]:
    wanted = sorted(set(ids))
    found: dict[int, Client] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update({c.id: c for c in session.scalars(select(Client).where(Client.id.in_(chunk)))})
    return found


def _places(session: Session, ids: Iterable[int]) -> dict[int, Place]:
    """Home coordinates by client id; a client without them is placed at their town office."""
    wanted = sorted(set(ids))
    places: dict[int, Place] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = session.execute(
            select(Client.id, Client.latitude, Client.longitude, Town.latitude, Town.longitude)
            .join(Town, Town.id == Client.town_id)
            .where(Client.id.in_(chunk))
        )
        for client_id, lat, lon, town_lat, town_lon in rows:
            if lat is not None and lon is not None:
                places[client_id] = Place(lat, lon)
            else:
                places[client_id] = Place(town_lat, town_lon)
    return places


def _window(client: Client) -> tuple[dt.time, dt.time] | None:
    if client.preferred_window_start and client.preferred_window_end:
        return client.preferred_window_start, client.preferred_window_end
    return None


def _sheet_stops(
    session: Session,
    vault: Vault,
    stops: Sequence[PlannedStop],
    clients: Mapping[int, Client],
    *,
    actor: str,
    purpose: str,
) -> tuple[SheetStop, ...]:
    """Decrypt each client of ``stops`` once (one audited read each) and pair them up."""
    people: dict[int, Personal] = {}
    result = []
    for stop in stops:
        client = clients.get(stop.client_id)
        if client is None:
            raise ValidationError("client_id", "no such client", record=stop.client_code)
        if stop.client_id not in people:
            values = reveal(session, vault, client, REVEALED_FIELDS, actor=actor, purpose=purpose)
            people[stop.client_id] = Personal(
                name=values["name"] or "", address=values["address"] or "", phone=values["phone"]
            )
        result.append(SheetStop(stop, people[stop.client_id], _window(client)))
    return tuple(result)


def sheet_purpose(staff_code: str, day: dt.date) -> str:
    """The audit purpose of decrypting a client into a coordinator's day sheet."""
    return f"day sheet for {staff_code} {day.isoformat()}"


def build_day_sheets(
    session: Session,
    vault: Vault,
    plan: Plan,
    coordinators: Sequence[Coordinator],
    *,
    actor: str = DEFAULT_ACTOR,
) -> list[DaySheet]:
    """Every coordinator's day sheets, decrypting each client once per sheet (audited)."""
    by_code = {c.code: c for c in coordinators}
    unknown = sorted({s.staff_code for s in plan.stops} - set(by_code))
    if unknown:
        raise ValidationError(
            "coordinators", f"plan has stops for coordinators not given: {unknown}"
        )
    clients = _clients(session, (s.client_id for s in plan.stops))
    staff = {
        s.code: s for s in session.scalars(select(Staff).where(Staff.code.in_(sorted(by_code))))
    }
    towns = dict(session.execute(select(Town.code, Town.name)).all())
    sheets = []
    for code in sorted(by_code):
        coordinator = by_code[code]
        member = staff.get(code)
        for day in sorted({s.day for s in plan.stops if s.staff_code == code}):
            stops = plan.day_of(code, day)
            sheets.append(
                DaySheet(
                    staff_code=code,
                    day=day,
                    stops=_sheet_stops(
                        session,
                        vault,
                        stops,
                        clients,
                        actor=actor,
                        purpose=sheet_purpose(code, day),
                    ),
                    staff_name=member.name if member else None,
                    role=coordinator.role,
                    office_name=towns.get(coordinator.town_code),
                    return_km=plan.return_km.get((code, day), 0.0),
                )
            )
    return sheets


# -- publishing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoordinatorFiles:
    staff_code: str
    day_sheets_html: tuple[Path, ...]
    day_sheets_pdf: tuple[Path, ...]
    calendar: Path
    csv: Path
    days: int
    visits: int
    calls: int
    km: float

    @property
    def files(self) -> tuple[Path, ...]:
        return (*self.day_sheets_html, *self.day_sheets_pdf, self.calendar, self.csv)


@dataclass(frozen=True)
class PublishResult:
    directory: Path
    team_overview: Path
    coordinators: dict[str, CoordinatorFiles] = field(default_factory=dict)
    stops: int = 0
    unplanned: int = 0
    day_sheets: int = 0
    clients_revealed: int = 0  # audited reads (one per client per day sheet)

    @property
    def files(self) -> list[Path]:
        paths = [self.team_overview]
        for code in sorted(self.coordinators):
            paths.extend(self.coordinators[code].files)
        return paths


def plan_directory(out_dir: Path, plan: Plan) -> Path:
    return Path(out_dir) / "visits" / plan.horizon_start.isoformat()


def publish_plan(
    session: Session,
    vault: Vault,
    plan: Plan,
    coordinators: Iterable[Coordinator],
    out_dir: Path,
    *,
    actor: str = DEFAULT_ACTOR,
) -> PublishResult:
    """Write the plan's day sheets, calendars, CSVs and the team overview under ``out_dir``.

    ``out_dir`` is the platform's output directory (``Settings.output_dir``); the files go
    to ``out_dir/visits/<horizon_start>/``, replacing an earlier publication of the same
    horizon only once everything is written.
    """
    coordinators = sorted(coordinators, key=lambda c: c.code)
    out_dir = Path(out_dir)
    target = plan_directory(out_dir, plan)
    try:
        prefix = f".visits-{plan.horizon_start.isoformat()}-"
        with staged_directory(out_dir, target, prefix) as staging:
            result = _write(session, vault, plan, coordinators, staging, target, actor)
    except BaseException:
        log.warning("publishing the plan from %s failed; nothing published", plan.horizon_start)
        raise
    log.info(
        "published the plan from %s: %d coordinators, %d day sheets, %d stops, %d unplanned",
        plan.horizon_start,
        len(result.coordinators),
        result.day_sheets,
        result.stops,
        result.unplanned,
    )
    return result


def _write(
    session: Session,
    vault: Vault,
    plan: Plan,
    coordinators: Sequence[Coordinator],
    staging: Path,
    target: Path,
    actor: str,
) -> PublishResult:
    font = find_korean_font()  # fail before decrypting anything
    sheets = build_day_sheets(session, vault, plan, coordinators, actor=actor)
    span = f"{plan.horizon_start.isoformat()}_{plan.horizon_end.isoformat()}"
    files: dict[str, CoordinatorFiles] = {}
    for code in sorted({s.staff_code for s in sheets}):
        mine = [s for s in sheets if s.staff_code == code]
        folder = staging / code
        folder.mkdir()
        html_paths, pdf_paths = [], []
        for sheet in mine:
            stem = f"{code}_{sheet.day.isoformat()}"
            (folder / f"{stem}.html").write_text(render_day_sheet_html(sheet), encoding="utf-8")
            (folder / f"{stem}.pdf").write_bytes(render_day_sheet_pdf(sheet, font))
            html_paths.append(target / code / f"{stem}.html")
            pdf_paths.append(target / code / f"{stem}.pdf")
        every_stop = [stop for sheet in mine for stop in sheet.stops]
        (folder / f"{code}_{span}.ics").write_bytes(render_calendar(code, every_stop))
        (folder / f"{code}_{span}.csv").write_bytes(render_csv(every_stop))
        files[code] = CoordinatorFiles(
            staff_code=code,
            day_sheets_html=tuple(html_paths),
            day_sheets_pdf=tuple(pdf_paths),
            calendar=target / code / f"{code}_{span}.ics",
            csv=target / code / f"{code}_{span}.csv",
            days=len(mine),
            visits=sum(s.visits for s in mine),
            calls=sum(s.calls for s in mine),
            km=sum(s.km for s in mine),
        )
    places = _places(session, (s.client_id for s in plan.stops))
    towns = dict(session.execute(select(Town.code, Town.name)).all())
    overview = render_team_overview(plan, coordinators, places, towns)
    (staging / "team_overview.html").write_text(overview, encoding="utf-8")
    return PublishResult(
        directory=target,
        team_overview=target / "team_overview.html",
        coordinators=files,
        stops=len(plan.stops),
        unplanned=len(plan.unplanned),
        day_sheets=len(sheets),
        clients_revealed=sum(len({s.stop.client_id for s in sheet.stops}) for sheet in sheets),
    )


# -- calendar feed --------------------------------------------------------------------------


def stops_from_visits(session: Session, visits: Iterable[Visit]) -> list[PlannedStop]:
    """Booked or planned visits as stops (cancelled ones and those without a time are left out).

    ``start_at`` is stored in UTC (a naive value, as SQLite returns it, is read as UTC).
    """
    chosen = [
        v
        for v in visits
        if v.status != "cancelled" and v.start_at is not None and v.staff_id is not None
    ]
    if not chosen:
        return []
    staff_codes = dict(
        session.execute(
            select(Staff.id, Staff.code).where(Staff.id.in_({v.staff_id for v in chosen}))
        ).all()
    )
    client_codes = dict(
        session.execute(
            select(Client.id, Client.code).where(Client.id.in_({v.client_id for v in chosen}))
        ).all()
    )
    stops = []
    for visit in chosen:
        assert visit.start_at is not None and visit.staff_id is not None
        moment = visit.start_at
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        local = moment.astimezone(SEOUL)
        stops.append(
            PlannedStop(
                contact_key=visit.natural_key,
                client_id=visit.client_id,
                client_code=client_codes[visit.client_id],
                staff_code=staff_codes[visit.staff_id],
                day=local.date(),
                start=local.time().replace(tzinfo=None),
                duration_min=visit.duration_min,
                sequence=visit.sequence or 0,
                travel_min=0,
                travel_km=visit.travel_km or 0.0,
                service_type=visit.service_type,
                mode=visit.mode,
                purpose=visit.purpose,
            )
        )
    # Visits without a planned order are numbered by their start time within the day.
    stops.sort(key=lambda s: (s.staff_code, s.day, s.start, s.sequence, s.contact_key))
    numbered = []
    counter: dict[tuple[str, dt.date], int] = {}
    for stop in stops:
        key = (stop.staff_code, stop.day)
        counter[key] = counter.get(key, 0) + 1
        if not stop.sequence:
            stop = replace(stop, sequence=counter[key])
        numbered.append(stop)
    return numbered


def ics_feed(
    session: Session,
    vault: Vault,
    staff_code: str,
    source: Plan | Iterable[PlannedStop] | Iterable[Visit],
    *,
    actor: str | None = None,
    purpose: str | None = None,
) -> bytes:
    """The calendar of one coordinator: from a plan, a list of stops, or Visit rows.

    Each client is decrypted once for the whole feed (one audited read each, actor the
    coordinator's own code unless given). For a plan, the bytes equal those of the
    ``.ics`` :func:`publish_plan` writes.
    """
    if isinstance(source, Plan):
        items: list[Any] = list(source.stops)
    else:
        items = list(source)
    visits = [item for item in items if isinstance(item, Visit)]
    stops = [item for item in items if isinstance(item, PlannedStop)]
    if len(visits) + len(stops) != len(items):
        raise ValidationError("source", "expected a Plan, PlannedStops or Visits")
    stops.extend(stops_from_visits(session, visits))
    mine = sorted(
        (s for s in stops if s.staff_code == staff_code),
        key=lambda s: (s.day, s.sequence, s.contact_key),
    )
    clients = _clients(session, (s.client_id for s in mine))
    sheet_stops = _sheet_stops(
        session,
        vault,
        mine,
        clients,
        actor=actor or staff_code,
        purpose=purpose or f"calendar feed for {staff_code}",
    )
    return render_calendar(staff_code, sheet_stops)
