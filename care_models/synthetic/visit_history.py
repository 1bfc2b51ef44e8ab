"""The routine visits and calls a county has already made in its current due windows.

A county that plans its home visits every week has, on any given day, made part of
each due window's contacts: a weekly visit due Monday to Sunday is more often done than
not by Friday, and a quarterly one two months into its quarter mostly is. A database
loaded just now (the demo's) has none of that history, so its first plan would find
every contact of every window still due at once, and the team's capacity figures would
answer a demand no county has.

:func:`record_visit_history` records that history as the coordinators would, as done
visits (``source="manual"``, entered by hand). A contact whose window began before
``today`` is done with the chance that a visit spread evenly over the window's
business days falls before today: the share of those days already past. It is done on
one of them, by the client's usual coordinator or else one of the town office's staff
with the contact's skill. Urgent contacts (first assessments, alert visits) are not
routine, and are left to the plan. Deterministic for a seed, and recorded once.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.schema import Staff, Town, Visit
from care_models.visits.demand import ROUTINE, expand_demand
from care_models.visits.model import DueContact
from care_models.visits.supply import working_days

# The longest calendar cadence is every six months: no current window began earlier.
LOOKBACK_DAYS = 190
HISTORY_KEY = "history:"


def record_visit_history(session: Session, today: dt.date, seed: int = 7) -> int:
    """Record the done visits of the current windows (see the module); how many were new."""
    yesterday = today - dt.timedelta(days=1)
    contacts = [
        c
        for c in expand_demand(session, today - dt.timedelta(days=LOOKBACK_DAYS), yesterday)
        if c.priority >= ROUTINE and c.fixed_visit_id is None and (c.due_by or c.latest) >= today
    ]
    known = set(
        session.scalars(select(Visit.natural_key).where(Visit.natural_key.startswith(HISTORY_KEY)))
    )
    staff = _staff_by_town_and_skill(session)
    codes = {code: staff_id for staff_id, code in session.execute(select(Staff.id, Staff.code))}
    added = 0
    for contact in contacts:
        # One draw per contact, whatever else is due: a second call (the contacts made
        # are no longer due) draws the same for the rest, and adds nothing.
        rng = random.Random(f"{seed}:{contact.key}")
        day = _done_day(contact, today, rng)
        key = HISTORY_KEY + contact.key
        if day is None or key in known:
            continue
        by = codes.get(contact.usual_staff_code or "") or _any(
            staff[(contact.town_code, contact.skill)], rng
        )
        session.add(_done_visit(contact, key, day, by))
        added += 1
    session.flush()
    return added


def _done_day(contact: DueContact, today: dt.date, rng: random.Random) -> dt.date | None:
    """The day this contact was done, if it already was (see the module)."""
    window = working_days(contact.earliest, contact.due_by or contact.latest)
    past = [d for d in window if d < today]
    if not past or rng.random() >= len(past) / len(window):
        return None
    return rng.choice(past)


def _staff_by_town_and_skill(session: Session) -> dict[tuple[str, str], list[int]]:
    found: dict[tuple[str, str], list[int]] = defaultdict(list)
    rows = session.execute(
        select(Staff.id, Staff.skills, Town.code)
        .join(Town, Town.id == Staff.office_town_id)
        .where(Staff.active)
        .order_by(Staff.code)
    )
    for staff_id, skills, town in rows:
        for skill in skills or []:
            found[(town, skill)].append(staff_id)
    return found


def _any(staff_ids: list[int], rng: random.Random) -> int | None:
    return rng.choice(staff_ids) if staff_ids else None


def _done_visit(contact: DueContact, key: str, day: dt.date, staff_id: int | None) -> Visit:
    return Visit(
        natural_key=key,
        client_id=contact.client_id,
        staff_id=staff_id,
        case_id=contact.case_id,
        planned_service_id=contact.planned_service_id,
        service_type=contact.service_type,
        mode=contact.mode,
        purpose=contact.purpose,
        visit_date=day,
        duration_min=contact.duration_min,
        status="done",
        source="manual",
    )
