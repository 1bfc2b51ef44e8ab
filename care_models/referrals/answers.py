"""What intake answers a hospital, and the words it uses: outcomes, reasons, holds.

Shared by the batch that answers referrals (:mod:`care_models.referrals.intake_batch`)
and the run that feeds it batches (:mod:`care_models.referrals.intake`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from care_models.operations import raise_alert
from care_models.privacy import audit
from care_models.referrals.store import set_status
from care_models.schema import MatchReview, Referral
from care_models.synthetic.county import COUNTY
from care_models.visits.urgent import SEARCH_DAYS

log = logging.getLogger(__name__)

OUTSIDE_COUNTY = (
    f"관할 구역({COUNTY}) 밖 주소입니다. 거주지 시·군·구의 통합돌봄 창구로 의뢰해 주세요."
)
# One neutral reason for every identity review: it tells the hospital neither that
# the county knows a similar person nor that another hospital referred the same one.
UNDER_REVIEW = "본인 확인 검토 중: 통합돌봄팀이 확인한 뒤 다시 알려 드립니다."
GATE_REJECTED = "품질 검사 불합격: {rules}"
ON_HOLD_NO_CAPACITY = (
    f"보류: {SEARCH_DAYS}영업일 안에 초기 방문할 수 있는 담당자가 없어 "
    "통합돌봄팀이 일정을 조정하고 있습니다."
)
ON_HOLD_FAULT = "보류: 접수 처리 중 문제가 있어 통합돌봄팀이 확인하고 있습니다."

INTAKE_ACTOR = "workflow:referral_intake"
GATE_PURPOSE = "intake gate: quality rules on the referral Bundle"
INTAKE_PURPOSE = "intake: match, triage, open the case and book the first visit"
WORKFLOW = "referral_intake"
NO_CAPACITY = "no_first_visit_capacity"
FAULT = "intake_fault"
RETRIED_KINDS = (NO_CAPACITY, FAULT)


@dataclass
class IntakeOutcome:
    referral_id: int
    status: str
    reason: str | None = None
    priority: int | None = None
    case_id: int | None = None
    visit_date: dt.date | None = None
    new_client: bool = False


@dataclass
class IntakeSummary:
    outcomes: list[IntakeOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def as_dict(self) -> dict[str, Any]:
        return {
            "processed": len(self.outcomes),
            "accepted": self.count("accepted"),
            "rejected": self.count("rejected"),
            "on_hold": self.count("on-hold"),
            "new_clients": sum(o.new_client for o in self.outcomes),
            "first_visits": sorted(o.visit_date.isoformat() for o in self.outcomes if o.visit_date),
        }


@dataclass(frozen=True)
class IntakeBatch:
    """A gated batch: the referrals to answer and what the gate decided for some."""

    referral_ids: Sequence[int]
    rejected: dict[int, list[str]] = field(default_factory=dict)
    faults: dict[int, str] = field(default_factory=dict)
    reviews: dict[int, int] = field(default_factory=dict)
    retried: frozenset[int] = frozenset()  # held referrals re-tried on request

    def waiting_statuses(self, referral_id: int) -> tuple[str, ...]:
        return ("received", "on-hold") if referral_id in self.retried else ("received",)


def audit_bundle_read(session: Session, referral_id: int, purpose: str, read: str) -> None:
    """The audit row of one read of a referral's personal data (``read``: the field)."""
    audit(session, **bundle_read_row(referral_id, purpose, read))


def bundle_read_row(referral_id: int, purpose: str, read: str) -> dict[str, Any]:
    """:func:`audit_bundle_read`'s row, for a batch to insert with its others."""
    return {
        "actor": INTAKE_ACTOR,
        "action": "read",
        "entity": "referral",
        "entity_id": str(referral_id),
        "fields": [read],
        "purpose": purpose,
    }


def reject(session: Session, referral: Referral, reason: str) -> IntakeOutcome:
    set_status(session, referral, "rejected", reason)
    return IntakeOutcome(referral.id, "rejected", reason)


def review(session: Session, referral: Referral, candidates: Iterable[int]) -> IntakeOutcome:
    session.add(MatchReview(referral_id=referral.id, candidate_client_ids=list(candidates)))
    set_status(session, referral, "on-hold", UNDER_REVIEW)
    return IntakeOutcome(referral.id, "on-hold", UNDER_REVIEW)


def hold(session: Session, referral: Referral, kind: str, detail: str) -> IntakeOutcome:
    """On hold for the team: the Task says so in words, the alert says why in rules."""
    reason = ON_HOLD_NO_CAPACITY if kind == NO_CAPACITY else ON_HOLD_FAULT
    set_status(session, referral, "on-hold", reason)
    raise_alert(
        session,
        workflow=WORKFLOW,
        kind=kind,
        entity="referral",
        entity_id=str(referral.id),
        detail=detail,
    )
    log.warning("referral %s on hold for the team: %s", referral.id, kind)
    return IntakeOutcome(referral.id, "on-hold", reason)


def settles_held_alerts(outcome: IntakeOutcome) -> bool:
    """Whether this answer ends a hold for lack of capacity or a fault (its alert resolves)."""
    return outcome.status != "on-hold" or outcome.reason == UNDER_REVIEW
