"""Decisions per need, as the conference took them (often typed in afterwards).

A decision answers one need of a case on the conference's agenda: ``approve`` the
plan, ``change_plan``, ``link_service`` (a provider, a service type it offers, a
cadence, an amount), ``refer_tier2``, ``close_case`` or ``defer``; each with its
reason and who recorded it. :func:`record_decisions` takes all the decisions of one
case at once and writes all or nothing:

- the case must be on this conference's agenda, and each need one of its needs;
- ``link_service`` needs a provider that offers the service type, and a cadence
  from the vocabulary; any decision that names a provider, service or cadence has
  them checked the same way;
- a need already decided at this conference with the same content is left as it
  is (a repeated submission changes nothing); with different content it is refused
  unless the call is an explicit amendment, which is written to the audit log;
- the item becomes ``discussed``; decided needs ``decided``; a deferred need stays
  open and comes back with the next agenda (``pending``).

Refusals are :class:`ValidationError` naming the field and the rule, never the value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models import vocab
from care_models.errors import NotFoundError, ValidationError
from care_models.privacy import audit
from care_models.schema import AgendaItem, Conference, Decision, Need, Organisation, Staff

SERVICE_DECISIONS = ("link_service",)
MAX_REASON = 500


@dataclass(frozen=True)
class DecisionInput:
    need_id: int
    decision: str
    reason: str
    provider_code: str | None = None
    service_type: str | None = None
    cadence: str | None = None
    amount: int | None = None
    detail: str | None = None


def _content(d: DecisionInput, provider_id: int | None) -> tuple[object, ...]:
    return (
        d.decision,
        d.reason.strip(),
        provider_id,
        d.service_type,
        d.cadence,
        d.amount,
        d.detail,
    )


def _stored(row: Decision) -> tuple[object, ...]:
    return (
        row.decision,
        row.reason,
        row.provider_id,
        row.service_type,
        row.cadence,
        row.amount,
        row.detail,
    )


def _provider(session: Session, where: str, d: DecisionInput) -> int | None:
    """Check the service fields of one decision; the provider's id."""
    if d.decision in SERVICE_DECISIONS:
        for name in ("provider_code", "service_type", "cadence"):
            if not getattr(d, name):
                raise ValidationError(f"{where}.{name}", f"is required to {d.decision}")
    if d.cadence is not None and d.cadence not in vocab.CADENCES:
        raise ValidationError(f"{where}.cadence", f"must be one of {', '.join(vocab.CADENCES)}")
    if d.service_type is not None and d.service_type not in vocab.SERVICE_TYPES:
        raise ValidationError(f"{where}.service_type", "must be a known service type")
    if d.amount is not None and not 0 < d.amount <= 1000:
        raise ValidationError(f"{where}.amount", "must be between 1 and 1000 contacts or hours")
    if d.provider_code is None:
        return None
    provider = session.scalar(
        select(Organisation).where(
            Organisation.code == d.provider_code, Organisation.kind == "provider"
        )
    )
    if provider is None:
        raise ValidationError(f"{where}.provider_code", "is not a known provider")
    if d.service_type is not None and d.service_type not in (provider.services or []):
        raise ValidationError(f"{where}.provider_code", "does not offer this service type")
    return provider.id


def record_decisions(
    session: Session,
    conference_id: int,
    case_id: int,
    decisions: list[DecisionInput],
    *,
    staff_code: str,
    now: dt.datetime,
    amend: bool = False,
) -> list[Decision]:
    """Record one case's decisions at one conference, all or nothing (see the module)."""
    conference = session.get(Conference, conference_id)
    if conference is None:
        raise NotFoundError(f"conference {conference_id} does not exist")
    if conference.status == "cancelled":
        raise ValidationError("conference_id", "the conference was cancelled")
    if not decisions:
        raise ValidationError("decisions", "at least one decision is required")
    staff = session.scalar(select(Staff).where(Staff.code == staff_code, Staff.active))
    if staff is None:
        raise ValidationError("recorded_by", "must be an active staff code")
    item = session.scalar(
        select(AgendaItem).where(
            AgendaItem.conference_id == conference_id, AgendaItem.case_id == case_id
        )
    )
    if item is None:
        raise ValidationError("case_id", "is not on this conference's agenda")
    needs = {n.id: n for n in session.scalars(select(Need).where(Need.case_id == case_id))}
    existing = {
        d.need_id: d
        for d in session.scalars(select(Decision).where(Decision.agenda_item_id == item.id))
    }
    plan: list[tuple[DecisionInput, int | None, Decision | None]] = []
    seen: set[int] = set()
    for index, d in enumerate(decisions):
        where = f"decisions[{index}]"
        if d.need_id not in needs:
            raise ValidationError(f"{where}.need_id", "is not a need of this case on the agenda")
        if d.need_id in seen:
            raise ValidationError(f"{where}.need_id", "is decided twice in one submission")
        seen.add(d.need_id)
        if d.decision not in vocab.DECISIONS or d.decision in ("open_case", "reject"):
            raise ValidationError(
                f"{where}.decision",
                "must be approve, change_plan, link_service, refer_tier2, close_case or defer",
            )
        if not d.reason or not d.reason.strip() or len(d.reason) > MAX_REASON:
            raise ValidationError(
                f"{where}.reason", f"is required, at most {MAX_REASON} characters"
            )
        provider_id = _provider(session, where, d)
        before = existing.get(d.need_id)
        if before is not None and _stored(before) != _content(d, provider_id) and not amend:
            raise ValidationError(
                f"{where}.need_id",
                "is already decided differently: send it as an amendment to change it",
            )
        plan.append((d, provider_id, before))
    written = []
    for d, provider_id, before in plan:
        row = before
        if row is not None and _stored(row) == _content(d, provider_id):
            written.append(row)
            continue
        if row is None:
            row = Decision(agenda_item_id=item.id, need_id=d.need_id)
            session.add(row)
        else:
            row.amendments += 1
            row.applied_at = None  # its effects are applied again
            audit(
                session,
                actor=f"staff:{staff_code}",
                action="amend",
                entity="decision",
                entity_id=str(row.id),
                fields=["decision", "reason", "provider", "service_type", "cadence", "amount"],
                purpose=f"conference {conference_id} decision amended",
            )
        need = needs[d.need_id]
        row.category, row.decision, row.reason = need.category, d.decision, d.reason.strip()
        row.provider_id, row.service_type, row.cadence = provider_id, d.service_type, d.cadence
        row.amount, row.detail = d.amount, d.detail
        row.decided_on, row.recorded_by, row.recorded_at = conference.scheduled_on, staff_code, now
        need.status = "identified" if d.decision == "defer" else "decided"
        written.append(row)
    item.status = "discussed"
    session.flush()
    return written


__all__ = ["DecisionInput", "record_decisions"]
