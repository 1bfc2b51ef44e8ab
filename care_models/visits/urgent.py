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
from typing import Any, NamedTuple

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


@dataclass(frozen=True)
class Slot:
    """Where an urgent visit goes: the coordinator, the day, and their visits before it."""

    staff: Staff
    day: dt.date
    position: int
    late: bool


class _Candidate(NamedTuple):
    """A coordinator as the booker compares them, read off the ORM object once (a batch
    compares every candidate on every day it tries)."""

    id: int
    capacity: int  # visits a day
    town_id: int
    code: str
    staff: Staff


class UrgentBooker:
    """Books urgent visits in one transaction, looking each thing up once.

    Coordinators, towns, leave and each day's visits are read when first needed and
    kept: within the booker's transaction only its own bookings change them, and it
    counts those. So a batch of requests lands on the same days and coordinators as the
    same requests booked one by one, at the cost of a few queries for the whole batch.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._known: dict[str, Visit | None] = {}
        self._staff: list[Staff] | None = None
        self._towns: dict[int, Town] | None = None
        self._candidates: dict[tuple[int, tuple[str, ...]], list[_Candidate]] = {}
        self._full: dict[tuple[int, tuple[str, ...]], set[dt.date]] = {}
        self._away: dict[dt.date, set[int]] = {}
        self._load: dict[dt.date, dict[int, int]] = {}

    def look_up(self, natural_keys: list[str]) -> None:
        """Read the visits already booked under these keys (one query for all)."""
        wanted = [k for k in natural_keys if k not in self._known]
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            found = {
                v.natural_key: v
                for v in self.session.scalars(select(Visit).where(Visit.natural_key.in_(part)))
            }
            self._known.update({k: found.get(k) for k in part})

    def existing(self, natural_key: str) -> Visit | None:
        if natural_key not in self._known:
            self.look_up([natural_key])
        return self._known[natural_key]

    def plan(self, request: UrgentVisitRequest, town_id: int) -> Slot:
        """The earliest business day in the window someone can go, held for this request.

        CapacityError when no coordinator has the skills, or none is free within
        ``SEARCH_DAYS`` business days (nothing is held then).
        """
        candidates = self._candidates_for(town_id, request.skills)
        if not candidates:
            raise CapacityError(f"no active coordinator has any of the skills {request.skills}")
        # A day on which none of these candidates was free stays so for this booker:
        # leave does not change within it and its load only grows. Skipping those days
        # keeps a batch from scanning the same full days again for each request.
        full = self._full.setdefault((town_id, request.skills), set())
        day = next_business_day(request.earliest)
        for _ in range(SEARCH_DAYS):
            if day not in full:
                away, load = self._away_on(day), self._load_on(day)
                free = [
                    c for c in candidates if c.id not in away and load.get(c.id, 0) < c.capacity
                ]
                if free:
                    local = [c for c in free if c.town_id == town_id] or free[:1]
                    chosen = min(local, key=lambda c: (load.get(c.id, 0), c.code))
                    position = load.get(chosen.id, 0)
                    load[chosen.id] = position + 1
                    return Slot(chosen.staff, day, position, late=day > request.latest)
                full.add(day)
            day = next_business_day(day + dt.timedelta(days=1))
        raise CapacityError(
            f"nobody can visit within {SEARCH_DAYS} business days of {request.earliest}"
        )

    def book(self, request: UrgentVisitRequest, slot: Slot) -> Visit:
        """Write the visit ``plan`` held (:meth:`booked_row`: with the rest of a batch)."""
        visit = _book(self.session, request, slot.staff, slot.day, slot.position)
        self._known[request.natural_key] = visit
        return visit

    def booked_row(self, request: UrgentVisitRequest, slot: Slot) -> dict[str, Any]:
        """The visit ``plan`` held, as a row for the caller to insert with a batch's others.

        The booker no longer knows it as booked: for a batch's writing pass, after its
        last ``plan``.
        """
        return visit_values(request, slot.staff, slot.day, slot.position)

    def _candidates_for(self, town_id: int, skills: tuple[str, ...]) -> list[_Candidate]:
        """Coordinators with one of the skills: the town's first, then the nearest towns'."""
        key = (town_id, skills)
        if key not in self._candidates:
            if self._staff is None or self._towns is None:
                self._staff = list(
                    self.session.scalars(select(Staff).where(Staff.active.is_(True)))
                )
                self._towns = {t.id: t for t in self.session.scalars(select(Town))}
            towns, home = self._towns, self._towns[town_id]

            def distance(member: Staff) -> tuple[float, str]:
                office = towns[member.office_town_id]
                return (
                    (office.latitude - home.latitude) ** 2
                    + (office.longitude - home.longitude) ** 2,
                    member.code,
                )

            skilled = [s for s in self._staff if set(s.skills) & set(skills)]
            self._candidates[key] = [
                _Candidate(s.id, s.max_visits_per_day, s.office_town_id, s.code, s)
                for s in sorted(skilled, key=distance)
            ]
        return self._candidates[key]

    def _away_on(self, day: dt.date) -> set[int]:
        """Staff on leave that day (one query for everyone)."""
        if day not in self._away:
            self._away[day] = set(
                self.session.scalars(
                    select(StaffLeave.staff_id).where(
                        StaffLeave.start_date <= day, StaffLeave.end_date >= day
                    )
                )
            )
        return self._away[day]

    def _load_on(self, day: dt.date) -> dict[int, int]:
        """Visits planned or booked that day, per coordinator (one query for everyone)."""
        if day not in self._load:
            rows = self.session.execute(
                select(Visit.staff_id, func.count())
                .where(
                    Visit.visit_date == day,
                    Visit.status.in_(("planned", "booked")),
                    Visit.staff_id.is_not(None),
                )
                .group_by(Visit.staff_id)
            )
            self._load[day] = {staff_id: n for staff_id, n in rows if staff_id is not None}
        return self._load[day]


def book_urgent_visit(session: Session, request: UrgentVisitRequest) -> Booking:
    booker = UrgentBooker(session)
    existing = booker.existing(request.natural_key)
    if existing is not None:
        return Booking(existing, created=False, late=existing.visit_date > request.latest)
    client = session.get(Client, request.client_id)
    if client is None:
        raise NotFoundError(f"client {request.client_id} does not exist")
    slot = booker.plan(request, client.town_id)
    return Booking(booker.book(request, slot), created=True, late=slot.late)


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


def visit_values(
    request: UrgentVisitRequest,
    staff: Staff,
    day: dt.date,
    slot: int,
    first: dt.time = FIRST_HOUR,
) -> dict[str, Any]:
    """The columns of the visit booked for ``request``: the ``slot``-th hour from ``first``."""
    start_local = dt.datetime.combine(day, first, SEOUL) + dt.timedelta(minutes=SLOT_MINUTES * slot)
    return {
        "natural_key": request.natural_key,
        "client_id": request.client_id,
        "staff_id": staff.id,
        "case_id": request.case_id,
        "service_type": request.service_type,
        "mode": "visit",
        "purpose": request.purpose,
        "visit_date": day,
        "start_at": start_local.astimezone(dt.UTC),
        "duration_min": request.duration_min,
        "status": "booked",
        "source": request.source,
    }


def _book(
    session: Session,
    request: UrgentVisitRequest,
    staff: Staff,
    day: dt.date,
    slot: int,
    first: dt.time = FIRST_HOUR,
) -> Visit:
    visit = Visit(**visit_values(request, staff, day, slot, first))
    session.add(visit)
    session.flush()
    return visit


__all__ = [
    "Booking",
    "Slot",
    "UrgentBooker",
    "UrgentVisitRequest",
    "book_named_visit",
    "book_urgent_visit",
    "is_business_day",
]
