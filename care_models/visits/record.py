"""Record a published plan in the care database, idempotently.

A plan is identified by its horizon and a hash of its inputs (the due contacts and
the coordinators): recording the same plan again changes nothing. A new plan for
the same horizon (new urgent visits, a coordinator on leave, visits done) is a new
revision, and :func:`latest_plan` is the one in force: planned visits move to their
new day, time and coordinator (by contact key), planned visits that are no longer in
the plan are cancelled, and visits already done or booked by another source are never
touched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from care_models.errors import NotFoundError
from care_models.schema import Staff, UnplannedContact, Visit, VisitPlan
from care_models.visits.model import Coordinator, DueContact, Plan
from care_models.visits.planning import plan_to_rows
from care_models.workdays import SEOUL


def _canonical(value: object) -> object:
    """JSON for what ``json`` cannot write; sets sorted, so the hash is the same in every
    process (a set's order follows the per-process string hash seed)."""
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def _hashed(contact: DueContact) -> dict[str, Any]:
    """A contact as it counts for the fingerprint. A booked visit's coordinator is what the
    last plan wrote back (it may have moved the visit to a colleague with room): it is the
    plan's output, not an input, and counting it would make every re-run a new revision."""
    fields = _flat(contact, "place")
    if contact.fixed_visit_id is not None:
        fields["usual_staff_code"] = None
    return fields


def _flat(value: DueContact | Coordinator, place: str) -> dict[str, Any]:
    """``dataclasses.asdict`` of a contact or coordinator, without its deep copies (the
    fields are immutable; a county's fingerprint hashes hundreds of thousands)."""
    fields = dict(vars(value))
    at = fields[place]
    fields[place] = {"latitude": at.latitude, "longitude": at.longitude}
    return fields


def input_hash(contacts: Iterable[DueContact], coordinators: Iterable[Coordinator]) -> str:
    """A fingerprint of what the plan was computed from (same inputs, same plan)."""
    payload = {
        "contacts": sorted((_hashed(c) for c in contacts), key=lambda c: c["key"]),
        "coordinators": sorted((_flat(c, "office") for c in coordinators), key=lambda c: c["code"]),
    }
    text = json.dumps(payload, default=_canonical, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def caught_up(found: str) -> str:
    """The fingerprint recorded with a plan caught up at the gate (what came due listed,
    not placed): it matches no inputs, so the next run replans."""
    return hashlib.sha256(f"caught up: {found}".encode()).hexdigest()


def latest_plan(session: Session, start: dt.date, end: dt.date) -> VisitPlan | None:
    """The plan in force for a horizon: its latest revision."""
    return session.scalars(
        select(VisitPlan)
        .where(VisitPlan.horizon_start == start, VisitPlan.horizon_end == end)
        .order_by(VisitPlan.revision.desc())
        .limit(1)
    ).first()


def find_plan(session: Session, plan: Plan, digest: str) -> VisitPlan | None:
    """The plan in force for ``plan``'s horizon, if it was computed from these inputs.

    Only the latest revision counts: inputs that went A -> B -> A make a third
    revision, because the visits in the database follow B until then.
    """
    latest = latest_plan(session, plan.horizon_start, plan.horizon_end)
    return latest if latest is not None and latest.input_hash == digest else None


def current_horizons(session: Session, today: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Horizons of recorded plans that are not over yet: what a replan may change."""
    rows = session.execute(
        select(VisitPlan.horizon_start, VisitPlan.horizon_end)
        .where(VisitPlan.horizon_end >= today)
        .distinct()
        .order_by(VisitPlan.horizon_start, VisitPlan.horizon_end)
    )
    return [(start, end) for start, end in rows]


def record_plan(
    session: Session, plan: Plan, contacts: Iterable[DueContact], digest: str
) -> tuple[VisitPlan, bool]:
    """Store the plan; returns (the plan row, whether anything was written).

    A contact that is an already booked visit (an urgent visit from a referral or an
    alert) updates that visit, which keeps its own key and source.
    """
    booked = {c.key: c.fixed_visit_id for c in contacts if c.fixed_visit_id is not None}
    existing = find_plan(session, plan, digest)
    if existing is not None:
        return existing, False
    revision = (
        session.scalar(
            select(func.max(VisitPlan.revision)).where(
                VisitPlan.horizon_start == plan.horizon_start,
                VisitPlan.horizon_end == plan.horizon_end,
            )
        )
        or 0
    ) + 1
    km = plan.km_by_staff()
    row = VisitPlan(
        horizon_start=plan.horizon_start,
        horizon_end=plan.horizon_end,
        revision=revision,
        input_hash=digest,
        total_km=round(sum(km.values()), 1),
        summary={
            "stops": len(plan.stops),
            "unplanned": len(plan.unplanned),
            "km_by_staff": {k: round(v, 1) for k, v in sorted(km.items())},
            "plan": plan_to_rows(plan),  # codes, days and times: re-runs publish this again
        },
    )
    session.add(row)
    session.flush()
    staff_ids = {code: staff_id for code, staff_id in session.execute(select(Staff.code, Staff.id))}
    visits = {
        v.natural_key: v
        for v in session.scalars(
            select(Visit).where(
                Visit.visit_date >= plan.horizon_start, Visit.visit_date <= plan.horizon_end
            )
        )
    }
    kept: set[str] = set()
    for stop in plan.stops:
        kept.add(stop.contact_key)
        start = dt.datetime.combine(stop.day, stop.start, SEOUL).astimezone(dt.UTC)
        fixed_id = booked.get(stop.contact_key)
        visit = session.get(Visit, fixed_id) if fixed_id else visits.get(stop.contact_key)
        if visit is None:
            visit = Visit(
                natural_key=stop.contact_key,
                client_id=stop.client_id,
                source="plan",
                status="planned",
            )
            session.add(visit)
        elif visit.status not in ("planned", "booked"):
            continue  # done, missed or cancelled visits are history
        visit.staff_id = staff_ids[stop.staff_code]
        visit.service_type, visit.mode, visit.purpose = stop.service_type, stop.mode, stop.purpose
        visit.visit_date, visit.start_at = stop.day, start
        visit.duration_min, visit.sequence = stop.duration_min, stop.sequence
        visit.travel_km, visit.visit_plan_id = stop.travel_km, row.id
    for key, visit in visits.items():
        if key not in kept and visit.source == "plan" and visit.status == "planned":
            visit.status = "cancelled"
    for item in plan.unplanned:
        session.add(
            UnplannedContact(
                visit_plan_id=row.id,
                contact_key=item.contact_key,
                client_id=_client_id(session, item.client_code),
                service_type=item.service_type,
                reason=item.reason,
            )
        )
    session.flush()
    return row, True


def _client_id(session: Session, client_code: str) -> int:
    from care_models.schema import Client

    client_id = session.scalar(select(Client.id).where(Client.code == client_code))
    if client_id is None:
        raise NotFoundError(f"client {client_code} does not exist")
    return client_id
