"""Supply: who can visit on which days, and whether the demand fits at all.

:func:`coordinators` reads active staff as :class:`Coordinator`s: skills, the office
town they start and end their day from, working hours and lunch, the most visits
they make in a day, and their personal leave inside the horizon as days off. Korean
public holidays (substitute holidays included) are not days off here: every
coordinator is off on them through :meth:`Coordinator.works_on`.

:func:`check_capacity` is a first, necessary test before routing: it compares the
minutes (and the home visits) due per skill with what the coordinators holding that
skill can give on their working days, ignoring travel, so every message it returns
is demand that certainly cannot be met.

:func:`record_leave` records a coordinator's leave, e.g. a call in sick: the next
replan moves that coordinator's visits and changes nothing else.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from care_models import vocab
from care_models.errors import ValidationError
from care_models.schema import Staff, StaffLeave, Town, Visit
from care_models.visits.model import Coordinator, DueContact, Place
from care_models.workdays import is_business_day


def working_days(horizon_start: dt.date, horizon_end: dt.date) -> list[dt.date]:
    """The business days from ``horizon_start`` to ``horizon_end`` inclusive."""
    days = []
    day = horizon_start
    while day <= horizon_end:
        if is_business_day(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def _minutes(start: dt.time, end: dt.time) -> int:
    return (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)


def coordinator_from_staff(
    staff: Staff, office: Town | None, days_off: Iterable[dt.date] = ()
) -> Coordinator:
    """One member of staff as the planner sees them; bad records raise ValidationError."""
    code = staff.code
    if staff.work_start is None or staff.work_end is None or staff.work_start >= staff.work_end:
        raise ValidationError(
            "staff.work_start", "a coordinator needs working hours (start before end)", code
        )
    lunch = (staff.lunch_start, staff.lunch_end)
    if (lunch[0] is None) != (lunch[1] is None) or (
        lunch[0] is not None
        and lunch[1] is not None
        and not (staff.work_start <= lunch[0] < lunch[1] <= staff.work_end)
    ):
        raise ValidationError(
            "staff.lunch_start", "lunch needs a start and an end within working hours", code
        )
    if not staff.max_visits_per_day or staff.max_visits_per_day < 1:
        raise ValidationError(
            "staff.max_visits_per_day", "a coordinator makes at least one visit a day", code
        )
    skills = frozenset(staff.skills or ())
    unknown = sorted(skills - set(vocab.SKILLS))
    if unknown:
        raise ValidationError("staff.skills", f"unknown skills {', '.join(unknown)}", code)
    if office is None or office.latitude is None or office.longitude is None:
        raise ValidationError(
            "staff.office_town_id", "a coordinator needs an office town with coordinates", code
        )
    return Coordinator(
        staff_id=staff.id,
        code=code,
        role=staff.role,
        skills=skills,
        town_code=office.code,
        office=Place(office.latitude, office.longitude),
        work_start=staff.work_start,
        work_end=staff.work_end,
        lunch_start=staff.lunch_start,
        lunch_end=staff.lunch_end,
        max_visits_per_day=staff.max_visits_per_day,
        days_off=frozenset(days_off),
    )


def coordinators(
    session: Session, horizon_start: dt.date, horizon_end: dt.date
) -> list[Coordinator]:
    """Active staff, by code, with their personal leave inside the horizon as days off."""
    if horizon_end < horizon_start:
        raise ValidationError(
            "horizon_end",
            "the horizon must not end before it starts",
            f"{horizon_start.isoformat()}..{horizon_end.isoformat()}",
        )
    towns = {town.id: town for town in session.scalars(select(Town))}
    leave: dict[int, set[dt.date]] = defaultdict(set)
    for staff_id, start, end in session.execute(
        select(StaffLeave.staff_id, StaffLeave.start_date, StaffLeave.end_date).where(
            StaffLeave.start_date <= horizon_end, StaffLeave.end_date >= horizon_start
        )
    ):
        day = max(start, horizon_start)
        while day <= min(end, horizon_end):
            leave[staff_id].add(day)
            day += dt.timedelta(days=1)
    staff = session.scalars(select(Staff).where(Staff.active.is_(True)).order_by(Staff.code))
    return [
        coordinator_from_staff(member, towns.get(member.office_town_id), leave.get(member.id, ()))
        for member in staff
    ]


def minutes_per_day(coordinator: Coordinator) -> int:
    """Working minutes in a day, lunch taken out."""
    total = _minutes(coordinator.work_start, coordinator.work_end)
    if coordinator.lunch_start is not None and coordinator.lunch_end is not None:
        total -= _minutes(coordinator.lunch_start, coordinator.lunch_end)
    return total


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _has_day(days: Sequence[dt.date], first: dt.date, last: dt.date) -> bool:
    at = bisect_left(days, first)
    return at < len(days) and days[at] <= last


def check_capacity(
    contacts: Sequence[DueContact], coordinators: Sequence[Coordinator], days: Sequence[dt.date]
) -> list[str]:
    """Messages for skills whose due work cannot fit the horizon; empty when it may fit.

    Per skill: minutes due against the working minutes of the coordinators with the
    skill on the ``days`` they work, home visits due against their daily visit limits,
    and contacts whose window holds none of those working days. Travel is not counted,
    and a coordinator with two skills is counted in full for each, so a message is
    certain shortfall while silence does not promise a plan.
    """
    by_skill: dict[str, list[DueContact]] = defaultdict(list)
    for contact in contacts:
        by_skill[contact.skill].append(contact)
    messages = []
    for skill in sorted(by_skill):
        due = by_skill[skill]
        minutes = sum(c.duration_min for c in due)
        visits = sum(1 for c in due if c.mode == "visit")
        capable = [c for c in coordinators if skill in c.skills]
        if not capable:
            messages.append(
                f"{skill}: {_count(len(due), 'contact')} ({minutes} min) due but no active "
                f"coordinator has the skill {skill}"
            )
            continue
        working = {c.code: [d for d in days if c.works_on(d)] for c in capable}
        available = sum(minutes_per_day(c) * len(working[c.code]) for c in capable)
        slots = sum(c.max_visits_per_day * len(working[c.code]) for c in capable)
        person_days = sum(len(w) for w in working.values())
        team = f"{_count(len(capable), 'coordinator')}, {_count(person_days, 'working day')}"
        if minutes > available:
            messages.append(
                f"{skill}: {minutes} min due ({_count(len(due), 'contact')}) but only "
                f"{available} min available ({team}), short by {minutes - available} min"
            )
        if visits > slots:
            messages.append(
                f"{skill}: {_count(visits, 'home visit')} due but at most {slots} fit the daily "
                f"visit limits ({team}), short by {_count(visits - slots, 'visit')}"
            )
        open_days = sorted({d for w in working.values() for d in w})
        stranded = [c for c in due if not _has_day(open_days, c.earliest, c.latest)]
        if stranded:
            example = min(stranded, key=lambda c: c.key).key
            messages.append(
                f"{skill}: {_count(len(stranded), 'contact')} due on no day a coordinator with "
                f"the skill works (e.g. {example})"
            )
    return messages


__all__ = [
    "check_capacity",
    "coordinator_from_staff",
    "coordinators",
    "minutes_per_day",
    "working_days",
]


LEAVE_REASONS = ("sick", "annual", "training", "other")


def record_leave(
    session: Session, staff_code: str, first: dt.date, last: dt.date, reason: str = "sick"
) -> tuple[StaffLeave, int]:
    """Record leave from ``first`` to ``last``; the same staff and first day update it.

    Returns the leave row and the number of planned or booked visits the coordinator
    has on those days: what the next replan (``plan=current``) will move.
    """
    record = f"{staff_code} {first.isoformat()}"
    if reason not in LEAVE_REASONS:
        raise ValidationError("reason", f"must be one of {', '.join(LEAVE_REASONS)}", record)
    if last < first:
        raise ValidationError("end_date", "must not be before the start date", record)
    staff = session.scalars(select(Staff).where(Staff.code == staff_code)).one_or_none()
    if staff is None:
        raise ValidationError("staff_code", "no such member of staff", staff_code)
    leave = session.scalars(
        select(StaffLeave).where(StaffLeave.staff_id == staff.id, StaffLeave.start_date == first)
    ).one_or_none()
    if leave is None:
        leave = StaffLeave(staff_id=staff.id, start_date=first)
        session.add(leave)
    leave.end_date, leave.reason = last, reason
    session.flush()
    visits = session.scalar(
        select(func.count())
        .select_from(Visit)
        .where(
            Visit.staff_id == staff.id,
            Visit.visit_date >= first,
            Visit.visit_date <= last,
            Visit.status.in_(("planned", "booked")),
        )
    )
    return leave, int(visits or 0)
