"""Urgent visits, from any source: the first assessment after a discharge referral today,
the day-2 home visit of the device-alert protocol later.

A source describes what it needs (:class:`UrgentVisitRequest`: who, by when, which
skill, why) and :func:`book_urgent_visit` books it idempotently on the earliest
business day in its window, with a coordinator of the client's town who has the
skill, is not on leave and has the fewest visits that day. The home-visit planner
re-routes the day around it; booking never silently drops a request: when nobody
can go in the window, the visit is booked on the first day someone can, and the
returned booking says it is late.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from care_models.errors import CapacityError, NotFoundError
from care_models.schema import Client, Staff, StaffLeave, Town, Visit
from care_models.workdays import SEOUL, is_business_day, next_business_day

FIRST_HOUR = dt.time(10, 0)
SLOT_MINUTES = 60
SEARCH_DAYS = 10


@dataclass(frozen=True)
class UrgentVisitRequest:
    natural_key: str  # e.g. "referral:42:first_assessment"; the same key books once
    client_id: int
    earliest: dt.date
    latest: dt.date
    skills: tuple[str, ...]  # any of these skills may go
    purpose: str
    service_type: str
    source: str  # referral, alert, manual
    case_id: int | None = None
    duration_min: int = 60


@dataclass(frozen=True)
class Booking:
    visit: Visit
    created: bool
    late: bool


def _on_leave(session: Session, day: dt.date) -> set[int]:
    """Staff on leave that day (one query for everyone)."""
    return set(
        session.scalars(
            select(StaffLeave.staff_id).where(
                StaffLeave.start_date <= day, StaffLeave.end_date >= day
            )
        )
    )


def _load(session: Session, day: dt.date) -> dict[int, int]:
    """Visits planned or booked that day, per coordinator (one query for everyone)."""
    rows = session.execute(
        select(Visit.staff_id, func.count())
        .where(
            Visit.visit_date == day,
            Visit.status.in_(("planned", "booked")),
            Visit.staff_id.is_not(None),
        )
        .group_by(Visit.staff_id)
    )
    return {staff_id: count for staff_id, count in rows if staff_id is not None}


def _candidates(session: Session, client: Client, skills: tuple[str, ...]) -> list[Staff]:
    """Coordinators with one of the skills: the client's town first, then the nearest towns."""
    staff = [
        s
        for s in session.scalars(select(Staff).where(Staff.active.is_(True)))
        if set(s.skills) & set(skills)
    ]
    towns = {t.id: t for t in session.scalars(select(Town))}
    home = towns[client.town_id]

    def distance(member: Staff) -> tuple[float, str]:
        office = towns[member.office_town_id]
        return (
            (office.latitude - home.latitude) ** 2 + (office.longitude - home.longitude) ** 2,
            member.code,
        )

    return sorted(staff, key=distance)


def book_urgent_visit(session: Session, request: UrgentVisitRequest) -> Booking:
    existing = session.scalars(
        select(Visit).where(Visit.natural_key == request.natural_key)
    ).one_or_none()
    if existing is not None:
        return Booking(existing, created=False, late=existing.visit_date > request.latest)
    client = session.get(Client, request.client_id)
    if client is None:
        raise NotFoundError(f"client {request.client_id} does not exist")
    candidates = _candidates(session, client, request.skills)
    if not candidates:
        raise CapacityError(f"no active coordinator has any of the skills {request.skills}")
    day = next_business_day(request.earliest)
    for _ in range(SEARCH_DAYS):
        away, load = _on_leave(session, day), _load(session, day)
        free = [
            s for s in candidates if s.id not in away and load.get(s.id, 0) < s.max_visits_per_day
        ]
        if free:
            local = [s for s in free if s.office_town_id == client.town_id] or free[:1]
            chosen = min(local, key=lambda s: (load.get(s.id, 0), s.code))
            return Booking(
                _book(session, request, chosen, day, load.get(chosen.id, 0)),
                created=True,
                late=day > request.latest,
            )
        day = next_business_day(day + dt.timedelta(days=1))
    raise CapacityError(
        f"nobody can visit within {SEARCH_DAYS} business days of {request.earliest}"
    )


def book_named_visit(
    session: Session, request: UrgentVisitRequest, staff: Staff, day: dt.date, start: dt.time
) -> Visit:
    """Book ``request`` with this coordinator on this day (any day), idempotently.

    For visits whose worker is decided by a rule, not by load: the day-2 visit of the
    device-alert protocol goes to the client's own coordinator on a business day and to
    the duty roster's worker on a weekend or holiday, even past their usual daily cap
    (a person's safety comes before the cap; the replan moves their other visits).
    """
    existing = session.scalars(
        select(Visit).where(Visit.natural_key == request.natural_key)
    ).one_or_none()
    if existing is not None:
        return existing
    return _book(session, request, staff, day, 0, first=start)


def _book(
    session: Session,
    request: UrgentVisitRequest,
    staff: Staff,
    day: dt.date,
    slot: int,
    first: dt.time = FIRST_HOUR,
) -> Visit:
    start_local = dt.datetime.combine(day, first, SEOUL) + dt.timedelta(minutes=SLOT_MINUTES * slot)
    visit = Visit(
        natural_key=request.natural_key,
        client_id=request.client_id,
        staff_id=staff.id,
        case_id=request.case_id,
        service_type=request.service_type,
        mode="visit",
        purpose=request.purpose,
        visit_date=day,
        start_at=start_local.astimezone(dt.UTC),
        duration_min=request.duration_min,
        status="booked",
        source=request.source,
    )
    session.add(visit)
    session.flush()
    return visit


__all__ = [
    "Booking",
    "UrgentVisitRequest",
    "book_named_visit",
    "book_urgent_visit",
    "is_business_day",
]
