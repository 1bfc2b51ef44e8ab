"""What the administrators' page shows about the care data, at a glance (codes only).

- each data-quality gate's latest result and its failures over the last 30 days;
- the quarantine queue (rows a gate held back), with release and discard, audited;
- the care deadlines missed (:mod:`care_models.deadlines`), overdue first;
- open device incidents with the next step and whether it is overdue;
- the next conferences with their agenda state and items;
- this week's plan coverage: visits planned, contacts unplanned, the hours short per
  town and skill and the what-if (``capacity.json`` beside the published plan);
- dead letters: hospital callbacks and SMS/mail that gave up.

Workflow runs come from Airflow's own metadata and are added by the page; this module
knows only the care database. Nothing here holds a name, phone or address.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from care_models.alerts.desk import OpenIncident, open_incidents
from care_models.deadlines import RULES, Breach, check_deadlines
from care_models.errors import NotFoundError, ValidationError
from care_models.privacy import audit
from care_models.schema import (
    AgendaItem,
    Conference,
    GateResult,
    OperationalAlert,
    OutboundMessage,
    QuarantinedRow,
    Town,
    VisitPlan,
)
from care_models.workdays import SEOUL

WINDOW = dt.timedelta(days=30)
QUEUE_LIMIT = 200


@dataclass(frozen=True)
class GateLine:
    stage: str
    suite: str
    latest_at: dt.datetime
    success: bool
    rows: int
    rows_failed: int
    failures_30d: int


@dataclass(frozen=True)
class ConferenceLine:
    conference_id: int
    day: dt.date
    tier: int
    town: str
    agenda_status: str
    items: int


@dataclass(frozen=True)
class PlanCoverage:
    horizon: tuple[dt.date, dt.date]
    revision: int
    planned: int
    unplanned: int
    capacity: dict[str, Any] | None  # capacity.json: hours short and the what-if


@dataclass
class OpsOverview:
    as_of: dt.datetime
    gates: list[GateLine] = field(default_factory=list)
    quarantine: list[QuarantinedRow] = field(default_factory=list)
    quarantine_open: int = 0
    deadlines: list[Breach] = field(default_factory=list)
    incidents: list[OpenIncident] = field(default_factory=list)
    conferences: list[ConferenceLine] = field(default_factory=list)
    coverage: PlanCoverage | None = None
    dead_callbacks: list[OperationalAlert] = field(default_factory=list)
    dead_messages: list[OutboundMessage] = field(default_factory=list)

    @property
    def rules(self) -> dict[str, Any]:
        return RULES


def _aware(stamp: dt.datetime) -> dt.datetime:
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _gates(session: Session, now: dt.datetime) -> list[GateLine]:
    failures = dict(
        session.execute(
            select(
                GateResult.stage + "/" + GateResult.suite,
                func.count(),
            )
            .where(GateResult.ran_at >= now - WINDOW, GateResult.success.is_(False))
            .group_by(GateResult.stage, GateResult.suite)
        ).all()
    )
    latest_ids = select(func.max(GateResult.id)).group_by(GateResult.stage, GateResult.suite)
    return [
        GateLine(
            row.stage,
            row.suite,
            _aware(row.ran_at),
            row.success,
            row.rows_evaluated,
            row.rows_failed,
            int(failures.get(f"{row.stage}/{row.suite}", 0)),
        )
        for row in session.scalars(
            select(GateResult)
            .where(GateResult.id.in_(latest_ids))
            .order_by(GateResult.stage, GateResult.suite)
        )
    ]


def _conferences(session: Session, today: dt.date) -> list[ConferenceLine]:
    items = (
        select(AgendaItem.conference_id, func.count().label("n"))
        .group_by(AgendaItem.conference_id)
        .subquery()
    )
    rows = session.execute(
        select(Conference, Town.code, items.c.n)
        .outerjoin(Town, Town.id == Conference.town_id)
        .outerjoin(items, items.c.conference_id == Conference.id)
        .where(
            Conference.status == "scheduled",
            Conference.scheduled_on >= today,
            Conference.scheduled_on <= today + dt.timedelta(days=14),
        )
        .order_by(Conference.scheduled_on, Conference.tier, Conference.id)
    ).all()
    return [
        ConferenceLine(c.id, c.scheduled_on, c.tier, town or "군", c.agenda_status, int(n or 0))
        for c, town, n in rows
    ]


def _coverage(session: Session, today: dt.date, output_dir: Path | None) -> PlanCoverage | None:
    plan = session.scalars(
        select(VisitPlan)
        .where(VisitPlan.horizon_end >= today)
        .order_by(VisitPlan.horizon_start, VisitPlan.revision.desc())
    ).first()
    if plan is None:
        return None
    summary = plan.summary or {}
    rows = summary.get("plan", {})
    capacity = None
    if output_dir is not None:
        path = output_dir / "visits" / plan.horizon_start.isoformat() / "capacity.json"
        if path.is_file():
            capacity = json.loads(path.read_text(encoding="utf-8"))
    return PlanCoverage(
        (plan.horizon_start, plan.horizon_end),
        plan.revision,
        len(rows.get("stops", [])),
        len(rows.get("unplanned", [])),
        capacity,
    )


def ops_overview(session: Session, now: dt.datetime, output_dir: Path | None) -> OpsOverview:
    now = _aware(now)
    today = now.astimezone(SEOUL).date()
    queue = select(QuarantinedRow).where(QuarantinedRow.released_at.is_(None))
    return OpsOverview(
        as_of=now,
        gates=_gates(session, now),
        quarantine=list(
            session.scalars(queue.order_by(QuarantinedRow.id.desc()).limit(QUEUE_LIMIT))
        ),
        quarantine_open=int(
            session.scalar(select(func.count()).select_from(queue.subquery())) or 0
        ),
        deadlines=sorted(
            check_deadlines(session, now), key=lambda b: (b.done_at is not None, b.due_at)
        ),
        incidents=open_incidents(session, now=now),
        conferences=_conferences(session, today),
        coverage=_coverage(session, today, output_dir),
        dead_callbacks=list(
            session.scalars(
                select(OperationalAlert)
                .where(
                    OperationalAlert.kind == "callback_dead_letter",
                    OperationalAlert.resolved_at.is_(None),
                )
                .order_by(OperationalAlert.id)
            )
        ),
        dead_messages=list(
            session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.status == "dead_letter")
                .order_by(OutboundMessage.id.desc())
                .limit(QUEUE_LIMIT)
            )
        ),
    )


QUARANTINE_ACTIONS = ("release", "discard")


def settle_quarantined(
    session: Session, row_id: int, action: str, actor: str, now: dt.datetime
) -> QuarantinedRow:
    """Release (the row may pass: the rule was wrong for it) or discard (it stays out)
    a quarantined row; either way it leaves the queue, and an audit row says who."""
    if action not in QUARANTINE_ACTIONS:
        raise ValidationError("action", "must be release or discard")
    row = session.get(QuarantinedRow, row_id)
    if row is None:
        raise NotFoundError(f"quarantined row {row_id} does not exist")
    if row.released_at is not None:
        raise ValidationError("row", "is no longer in the quarantine queue")
    row.released_at = now
    row.resolution = "released" if action == "release" else "discarded"
    row.resolved_by = actor
    audit(
        session,
        actor=actor,
        action=f"quarantine_{action}",
        entity="quarantined_row",
        entity_id=str(row.id),
        purpose=f"{row.stage}: {row.rule}"[:200],
    )
    session.flush()
    return row
