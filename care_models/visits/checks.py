"""The plan gate's own checks: what a published plan must never get wrong.

Great Expectations checks the stops row by row (``expectations/plan.stops.json``);
these checks need the whole plan at once: overlaps, working hours and lunch, skills,
leave, client time windows, plausible travel, and coverage (every due contact is
either planned or listed as unplanned with a reason). Each violation names the
coordinator, the day and the contact key (never a client's personal data).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from care_models.visits.model import Coordinator, DueContact, Plan, PlannedStop

MAX_KMH = 90.0  # no coordinator drives faster than this between two homes on average
MAX_LEG_KM = 80.0  # a county is not wider than this


def _minutes(moment: dt.time) -> int:
    return moment.hour * 60 + moment.minute


def _end(stop: PlannedStop) -> int:
    return _minutes(stop.start) + stop.duration_min


def check_plan(
    plan: Plan,
    contacts: Iterable[DueContact],
    coordinators: Iterable[Coordinator],
    *,
    from_day: dt.date | None = None,
) -> list[str]:
    """Every violation in ``plan``; with ``from_day``, days before it are history.

    A replan in the middle of a week keeps the days already gone as they were: a
    visit done since is no longer due, a coordinator may have been sick, and
    neither is something the new revision could or should change.
    """
    by_key = {c.key: c for c in contacts}
    staff = {c.code: c for c in coordinators}
    problems: list[str] = []
    days: dict[tuple[str, dt.date], list[PlannedStop]] = defaultdict(list)
    for stop in plan.stops:
        if from_day is not None and stop.day < from_day:
            continue
        days[(stop.staff_code, stop.day)].append(stop)
        problems.extend(
            _stop_problems(stop, by_key.get(stop.contact_key), staff.get(stop.staff_code))
        )
    for (code, day), stops in days.items():
        ordered = sorted(stops, key=lambda s: (_minutes(s.start), s.sequence))
        for before, after in itertools.pairwise(ordered):
            if _end(before) > _minutes(after.start):
                problems.append(f"{code} {day}: {before.contact_key} overlaps {after.contact_key}")
        member = staff.get(code)
        if member and len([s for s in stops if s.mode == "visit"]) > member.max_visits_per_day:
            problems.append(f"{code} {day}: more than {member.max_visits_per_day} visits")
    problems.extend(_coverage_problems(plan, by_key))
    return problems


def _stop_problems(
    stop: PlannedStop, contact: DueContact | None, member: Coordinator | None
) -> list[str]:
    where = f"{stop.staff_code} {stop.day} {stop.contact_key}"
    if contact is None:
        return [f"{where}: planned but not due"]
    if member is None:
        return [f"{where}: unknown coordinator"]
    problems = []
    if contact.skill not in member.skills:
        problems.append(f"{where}: needs skill {contact.skill}")
    if not member.works_on(stop.day):
        problems.append(f"{where}: the coordinator does not work that day")
    if not contact.earliest <= stop.day <= contact.latest:
        problems.append(f"{where}: outside the due window {contact.earliest}..{contact.latest}")
    start, end = _minutes(stop.start), _end(stop)
    if start < _minutes(member.work_start) or end > _minutes(member.work_end):
        problems.append(f"{where}: outside working hours")
    if (
        member.lunch_start
        and member.lunch_end
        and start < _minutes(member.lunch_end)
        and end > _minutes(member.lunch_start)
    ):
        problems.append(f"{where}: during lunch")
    if (contact.window_start and start < _minutes(contact.window_start)) or (
        contact.window_end and end > _minutes(contact.window_end)
    ):
        problems.append(f"{where}: outside the client's time window")
    if stop.travel_km > MAX_LEG_KM or stop.travel_km < 0:
        problems.append(f"{where}: implausible travel of {stop.travel_km:.1f} km")
    if (stop.travel_km > 1 and stop.travel_min <= 0) or (
        stop.travel_min > 0 and stop.travel_km / (stop.travel_min / 60) > MAX_KMH
    ):
        problems.append(
            f"{where}: implausible travel time {stop.travel_min} min for {stop.travel_km:.1f} km"
        )
    if contact.mode == "phone" and stop.travel_km > 0:
        problems.append(f"{where}: a phone call needs no travel")
    return problems


def _coverage_problems(plan: Plan, by_key: dict[str, DueContact]) -> list[str]:
    planned = [s.contact_key for s in plan.stops]
    unplanned = {u.contact_key: u for u in plan.unplanned}
    problems = [f"{key}: planned twice" for key in {k for k in planned if planned.count(k) > 1}]
    for key in by_key.keys() - set(planned) - unplanned.keys():
        problems.append(f"{key}: due but neither planned nor listed as unplanned")
    problems.extend(
        f"{key}: unplanned without a reason" for key, u in unplanned.items() if not u.reason.strip()
    )
    return sorted(problems)


def stop_rows(
    plan: Plan, contacts: Iterable[DueContact], coordinators: Iterable[Coordinator]
) -> list[dict[str, Any]]:
    """Non-personal rows for the GX plan gate (codes, minutes and kilometres only)."""
    by_key = {c.key: c for c in contacts}
    staff = {c.code: c for c in coordinators}
    rows = []
    for stop in plan.stops:
        contact, member = by_key.get(stop.contact_key), staff.get(stop.staff_code)
        rows.append(
            {
                "contact_key": stop.contact_key,
                "staff_code": stop.staff_code,
                "day": stop.day.isoformat(),
                "start_minute": _minutes(stop.start),
                "end_minute": _end(stop),
                "sequence": stop.sequence,
                "mode": stop.mode,
                "travel_km": stop.travel_km,
                "travel_min": stop.travel_min,
                "skill_matches": bool(contact and member and contact.skill in member.skills),
                "in_due_window": bool(contact and contact.earliest <= stop.day <= contact.latest),
            }
        )
    return rows
