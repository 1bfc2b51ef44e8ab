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
day sheets and CSV, through :func:`care_models.privacy.reveal` (one audit row per
client per day sheet; the audit rows are added to the caller's session, which commits
them). The calendar carries codes, times and the town only (a subscription copies it
to a calendar service); the CSV's cells cannot run as formulas
(:mod:`care_models.rendering.tables`). The team overview holds codes and coarse
places only. Nothing personal is logged.

Everything is written into a private staging directory and renamed into place at
the end, so a failure publishes nothing; publishing the same plan again gives the
same bytes (the PDFs are written in reportlab's invariant mode).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from icalendar import Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.alerts.checklist import DAY2_VISIT_KEY_PATTERN, day2_checklist
from care_models.errors import ValidationError
from care_models.privacy import Vault, reveal
from care_models.rendering.atomic import staged_directory
from care_models.rendering.fonts import find_korean_font
from care_models.rendering.ics import SEOUL_ZONE, calendar_bytes, new_calendar
from care_models.rendering.labels import MODE_LABELS, SERVICE_LABELS
from care_models.rendering.tables import excel_csv
from care_models.schema import Client, Staff, Town, Visit
from care_models.visits.capacity import CapacityReport, capacity_csv
from care_models.visits.model import Coordinator, Place, Plan, PlannedStop
from care_models.visits.overview import render_team_overview
from care_models.visits.sheets import (
    DaySheet,
    Personal,
    SheetStop,
    render_day_sheet_html,
    render_day_sheet_pdf,
)
from care_models.workdays import SEOUL

log = logging.getLogger(__name__)

DEFAULT_ACTOR = "home_visit_planning"
REVEALED_FIELDS = ("name", "address", "phone")
PRODID = "-//Integrated Community Care//Home visits//KO"
CALENDAR_DETAILS = "이름·주소·연락처와 메모는 방문 일정표에 있습니다."

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
# -- calendar and CSV ---------------------------------------------------------------------


def event_uid(contact_key: str) -> str:
    """The calendar UID of a contact: the same contact key, the same event."""
    return f"{contact_key}@home-visits.integrated-care"


def render_calendar(
    staff_code: str, stops: Iterable[PlannedStop], towns: Mapping[int, str]
) -> bytes:
    """One VEVENT per stop, Asia/Seoul times with a VTIMEZONE, UIDs from contact keys.

    Codes, times and the town only (``towns``: the town name by client id): a calendar
    subscription copies the feed to a calendar service, often abroad, so a client's
    name, address, phone and the planner's notes stay on the day sheet.
    """
    ordered = sorted(stops, key=lambda s: (s.day, s.sequence, s.contact_key))
    calendar = new_calendar(PRODID, f"{staff_code} 방문 일정")
    if not ordered:
        return calendar_bytes(calendar)
    first, last = ordered[0].day, ordered[-1].day
    # Deterministic: the stamp is the start of the first day, not the time of publishing.
    stamp = dt.datetime.combine(first, dt.time(0), SEOUL).astimezone(dt.UTC)
    for s in ordered:
        service = SERVICE_LABELS.get(s.service_type, s.service_type)
        end = dt.datetime.combine(s.day, s.start) + dt.timedelta(minutes=s.duration_min)
        event = Event()
        event.add("uid", event_uid(s.contact_key))
        event.add("dtstamp", stamp)
        event.add("dtstart", dt.datetime.combine(s.day, s.start, SEOUL_ZONE))
        event.add("dtend", end.replace(tzinfo=SEOUL_ZONE))
        prefix = "[전화] " if s.mode == "phone" else ""
        event.add("summary", f"{prefix}{service} · {s.client_code}")
        town = towns.get(s.client_id)
        if town:
            event.add("location", town)
        description = [
            f"순서 {s.sequence} · {MODE_LABELS.get(s.mode, s.mode)}",
            f"대상자 코드 {s.client_code}",
            CALENDAR_DETAILS,
        ]
        event.add("description", "\n".join(description))
        event.add("categories", [service])
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


# -- reading the database -------------------------------------------------------------------


def _clients(session: Session, ids: Iterable[int]) -> dict[int, Client]:
    wanted = sorted(set(ids))
    found: dict[int, Client] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update({c.id: c for c in session.scalars(select(Client).where(Client.id.in_(chunk)))})
    return found


def _places(session: Session, ids: Iterable[int]) -> dict[int, Place]:
    """Homes (the coarse grid copy) by client id; without one, the client's town office."""
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


def _client_towns(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """The town name of each client: all a calendar says of where a stop is."""
    wanted = sorted(set(ids))
    towns: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        towns.update(
            session.execute(
                select(Client.id, Town.name)
                .join(Town, Town.id == Client.town_id)
                .where(Client.id.in_(chunk))
            ).all()
        )
    return towns


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
    day2 = _day2_visits(session, stops)
    for stop in stops:
        client = clients.get(stop.client_id)
        if client is None:
            raise ValidationError("client_id", "no such client", record=stop.client_code)
        if stop.client_id not in people:
            values = reveal(session, vault, client, REVEALED_FIELDS, actor=actor, purpose=purpose)
            people[stop.client_id] = Personal(
                name=values["name"] or "", address=values["address"] or "", phone=values["phone"]
            )
        checklist = day2_checklist(client.medical_aid) if (stop.client_id, stop.day) in day2 else ()
        result.append(SheetStop(stop, people[stop.client_id], _window(client), checklist))
    return tuple(result)


def _day2_visits(session: Session, stops: Sequence[PlannedStop]) -> set[tuple[int, dt.date]]:
    """(client, day) of the stops that are the alert protocol's day-2 home visits."""
    if not stops:
        return set()
    rows = session.execute(
        select(Visit.client_id, Visit.visit_date).where(
            Visit.natural_key.like(DAY2_VISIT_KEY_PATTERN),
            Visit.client_id.in_(sorted({s.client_id for s in stops})),
            Visit.visit_date.in_(sorted({s.day for s in stops})),
            Visit.status.in_(("planned", "booked")),
        )
    ).all()
    return {(client_id, day) for client_id, day in rows}


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
    capacity: CapacityReport | None = None,
) -> PublishResult:
    """Write the plan's day sheets, calendars, CSVs and the team overview under ``out_dir``
    (with the capacity behind the plan, and ``capacity.csv``, when it is given).

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
            result = _write(session, vault, plan, coordinators, staging, target, actor, capacity)
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
    capacity: CapacityReport | None = None,
) -> PublishResult:
    font = find_korean_font()  # fail before decrypting anything
    sheets = build_day_sheets(session, vault, plan, coordinators, actor=actor)
    span = f"{plan.horizon_start.isoformat()}_{plan.horizon_end.isoformat()}"
    client_towns = _client_towns(session, (s.client_id for s in plan.stops))
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
        calendar = render_calendar(code, [s.stop for s in every_stop], client_towns)
        (folder / f"{code}_{span}.ics").write_bytes(calendar)
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
    overview = render_team_overview(
        plan,
        coordinators,
        places,
        towns,
        capacity=capacity.lines if capacity else (),
        what_if=capacity.what_if if capacity else None,
    )
    (staging / "team_overview.html").write_text(overview, encoding="utf-8")
    if capacity is not None:
        (staging / "capacity.csv").write_bytes(capacity_csv(capacity))
        summary = json.dumps(capacity.summary(), ensure_ascii=False, indent=2)
        (staging / "capacity.json").write_text(summary + "\n", encoding="utf-8")
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


def day_sheet_of_visits(
    session: Session, vault: Vault, staff_code: str, day: dt.date, *, actor: str
) -> DaySheet:
    """A coordinator's day sheet from the visits on record that day (booked and planned):
    the duty worker's weekend, or a day no plan covers, still gets its printable sheet."""
    member = session.scalar(select(Staff).where(Staff.code == staff_code))
    if member is None:
        raise ValidationError("staff_code", "no coordinator with this code")
    visits = session.scalars(
        select(Visit).where(
            Visit.staff_id == member.id,
            Visit.visit_date == day,
            Visit.status.in_(("planned", "booked")),
        )
    ).all()
    stops = stops_from_visits(session, visits)
    clients = _clients(session, (s.client_id for s in stops))
    town = session.get(Town, member.office_town_id) if member.office_town_id else None
    return DaySheet(
        staff_code=staff_code,
        day=day,
        stops=_sheet_stops(
            session, vault, stops, clients, actor=actor, purpose=sheet_purpose(staff_code, day)
        ),
        staff_name=member.name,
        role=member.role,
        office_name=town.name if town else None,
    )


def ics_feed(
    session: Session,
    staff_code: str,
    source: Plan | Iterable[PlannedStop] | Iterable[Visit],
) -> bytes:
    """The calendar of one coordinator: from a plan, a list of stops, or Visit rows.

    Codes, times and the town only, so nothing personal is decrypted for it. For a plan,
    the bytes equal those of the ``.ics`` :func:`publish_plan` writes.
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
    mine = [s for s in stops if s.staff_code == staff_code]
    return render_calendar(staff_code, mine, _client_towns(session, (s.client_id for s in mine)))
