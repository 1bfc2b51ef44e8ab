"""Operational alerts: what a workflow could not do on its own, for the team to see to.

One open alert per (kind, entity, entity id): raising it again refreshes it, resolving
it keeps it as history. ``python -m care_models summary`` counts the open ones. The
detail names the rule and the record's non-personal key, never a personal value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.schema import OperationalAlert

DETAIL_LENGTH = 200
RETRY_HELD = """airflow dags trigger referral_intake -c '{"retry_held": true}'"""
# What the team does about each kind (printed by ``python -m care_models summary``).
REMEDIES = {
    "no_first_visit_capacity": f"free a coordinator (leave, visits per day), then {RETRY_HELD}",
    "intake_fault": f"read the task log for the referral id, fix the fault, then {RETRY_HELD}",
    "callback_dead_letter": "tell the hospital another way; it can read the Task from the API",
    "pull_failed": "check the hospital's FHIR server and its Connection fhir_<code>; the next "
    "referral_pull run reads again from the watermark",
    "deadline_referral_answer": "answer the referral (accept, hold or reject with a reason)",
    "deadline_first_visit": "book the first visit; if no coordinator is free, see capacity",
    "deadline_day2_visit": "record the day-2 visit's outcome, or go now; police after noon",
    "deadline_agenda_freeze": "freeze the agenda (care_conferences) or move the conference",
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _find(session: Session, kind: str, entity: str, entity_id: str) -> OperationalAlert | None:
    return session.scalars(
        select(OperationalAlert).where(
            OperationalAlert.kind == kind,
            OperationalAlert.entity == entity,
            OperationalAlert.entity_id == entity_id,
        )
    ).one_or_none()


def raise_alert(
    session: Session, *, workflow: str, kind: str, entity: str, entity_id: str, detail: str
) -> OperationalAlert:
    """Open (or re-open and refresh) the alert of ``kind`` on one record."""
    alert = _find(session, kind, entity, entity_id)
    if alert is None:
        alert = OperationalAlert(workflow=workflow, kind=kind, entity=entity, entity_id=entity_id)
        session.add(alert)
    alert.detail = detail[:DETAIL_LENGTH]
    alert.raised_at = _now()
    alert.resolved_at = None
    session.flush()
    return alert


def open_alerts_on(
    session: Session, kinds: tuple[str, ...], entity: str, entity_ids: Iterable[str]
) -> dict[str, list[OperationalAlert]]:
    """The open alerts of ``kinds`` on each of these records (one query for many)."""
    wanted = sorted(set(entity_ids))
    found: dict[str, list[OperationalAlert]] = {}
    if not wanted:
        return found
    for alert in session.scalars(
        select(OperationalAlert).where(
            OperationalAlert.kind.in_(kinds),
            OperationalAlert.entity == entity,
            OperationalAlert.entity_id.in_(wanted),
            OperationalAlert.resolved_at.is_(None),
        )
    ):
        found.setdefault(alert.entity_id, []).append(alert)
    return found


def mark_resolved(alerts: Iterable[OperationalAlert]) -> int:
    """Mark these alerts resolved now; how many there were."""
    count = 0
    for alert in alerts:
        alert.resolved_at = _now()
        count += 1
    return count


def resolve_alerts(session: Session, kinds: tuple[str, ...], entity: str, entity_id: str) -> int:
    """Mark the open alerts of ``kinds`` on one record resolved; how many were open."""
    return mark_resolved(open_alerts_on(session, kinds, entity, [entity_id]).get(entity_id, []))


def open_entity_ids(session: Session, kinds: tuple[str, ...], entity: str) -> list[str]:
    """The records with an open alert of one of ``kinds``."""
    return list(
        session.scalars(
            select(OperationalAlert.entity_id)
            .where(
                OperationalAlert.kind.in_(kinds),
                OperationalAlert.entity == entity,
                OperationalAlert.resolved_at.is_(None),
            )
            .order_by(OperationalAlert.id)
        )
    )
