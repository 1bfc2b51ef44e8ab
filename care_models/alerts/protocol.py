"""The unreachable-person protocol (Suyeong-gu), run to the day on each open incident.

All times are Asia/Seoul, and weekends and holidays do not pause it: a person's
safety does not wait for Monday. :func:`run_escalation` runs on the clock of the DAG
run that calls it (``now``), not the wall clock, and is idempotent: each step of an
incident is one row (unique on incident and step), so a late run does each overdue
step once and a repeated run does nothing new.

::

    incident opens (t0) ─┬─ critical_notify  due t0       SOS word, fire, gas, button
                         └─ day1_call        due t0       the town desk calls the person
                               │ outcome no_answer
                               ├─ day1_text_message  due then   SMS to the person (and
                               │                                guardian with consent)
                               └─ day1_door_visit    optional, recorded with the sticker
    day 2, 08:00 ──────────── day2_home_visit  due 12:00   business day: booked on the
                               │                           client's coordinator's route
                               │                           (the urgent-visits Asset makes
                               │                           the planner replan that route);
                               │                           weekend or holiday: the duty
                               │                           roster's worker for that day
                               │ outcome not_found / no_entry
                               └─ day2_police_report  due then   police with the guardian

A person records each outcome (:func:`record_step_outcome`); an outcome that finds
the person (``reached``, ``whereabouts_known``, ``found``) closes the incident and
cancels its open steps, and a day-2 visit already booked is cancelled with them
(it leaves the route at the next replan). Closing by hand: :func:`close_incident`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models import notify, operations, vocab
from care_models.alerts.checklist import DAY2_DEADLINE, DAY2_VISIT_KEY
from care_models.errors import CapacityError, NotFoundError, ValidationError
from care_models.privacy import Vault
from care_models.schema import (
    Client,
    ClosureDay,
    DutyRoster,
    EscalationStep,
    Incident,
    OutboundMessage,
    Staff,
    StaffLeave,
    Visit,
)
from care_models.visits.urgent import UrgentVisitRequest, book_named_visit, book_urgent_visit
from care_models.workdays import SEOUL, is_business_day

DAY2_STARTS = dt.time(8, 0)  # the day-2 visit is planned from the morning on
DAY2_VISIT_AT = dt.time(9, 0)  # booked first thing, to be there by noon
# What a person may record for each step; outcomes in FOUND close the incident.
STEP_OUTCOMES: dict[str, tuple[str, ...]] = {
    "critical_notify": ("acknowledged",),
    "day1_call": ("reached", "no_answer"),
    "day1_text_message": ("sent", "replied", "undeliverable"),
    "day1_door_visit": ("reached", "sticker_left"),
    "day2_home_visit": ("reached", "whereabouts_known", "not_found", "no_entry"),
    "day2_police_report": ("found", "reported"),
}
FOUND: dict[str, str] = {
    "reached": "person_reached",
    "replied": "person_reached",
    "whereabouts_known": "whereabouts_known",
    "found": "found_by_police",
}
NOT_FOUND = ("not_found", "no_entry")
VISIT_SKILLS = ("social_worker", "nurse")


@dataclass
class EscalationResult:
    """What one run did: counts and incident ids only."""

    steps_created: dict[str, int] = field(default_factory=dict)
    visits_booked: list[int] = field(default_factory=list)
    unassigned: list[int] = field(default_factory=list)

    def count(self, step: str) -> None:
        self.steps_created[step] = self.steps_created.get(step, 0) + 1

    def as_dict(self) -> dict[str, object]:
        return {
            "steps_created": dict(sorted(self.steps_created.items())),
            "day2_visits_booked": len(self.visits_booked),
            "day2_unassigned_incidents": sorted(self.unassigned),
            "urgent_visits": bool(self.visits_booked),
        }


def _aware(stamp: dt.datetime) -> dt.datetime:
    """In UTC: SQLite keeps a timestamp's wall time and drops its zone, so every time
    this module stores is UTC (a naive one read back is UTC too)."""
    return stamp.astimezone(dt.UTC) if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _at(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=SEOUL).astimezone(dt.UTC)


def _steps(session: Session, incident_id: int) -> dict[str, EscalationStep]:
    rows = session.scalars(select(EscalationStep).where(EscalationStep.incident_id == incident_id))
    return {row.step: row for row in rows}


def _ensure(
    session: Session,
    steps: dict[str, EscalationStep],
    incident: Incident,
    step: str,
    due_at: dt.datetime,
    result: EscalationResult,
) -> EscalationStep:
    existing = steps.get(step)
    if existing is not None:
        return existing
    row = EscalationStep(incident_id=incident.id, step=step, status="due", due_at=due_at)
    session.add(row)
    session.flush()
    steps[step] = row
    result.count(step)
    return row


def county_business_day(session: Session, day: dt.date) -> bool:
    """A Korean business day on which the county office is not closed."""
    return is_business_day(day) and session.get(ClosureDay, day) is None


def _free(session: Session, staff_id: int | None, day: dt.date) -> Staff | None:
    """The coordinator, if active and not on leave that day."""
    if staff_id is None:
        return None
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active:
        return None
    on_leave = session.scalar(
        select(StaffLeave.id).where(
            StaffLeave.staff_id == staff_id,
            StaffLeave.start_date <= day,
            StaffLeave.end_date >= day,
        )
    )
    return None if on_leave is not None else staff


def _book_day2(session: Session, incident: Incident, day: dt.date) -> tuple[int, int]:
    """Book the day-2 visit; (staff id, visit id). Raises CapacityError if nobody can go."""
    client = session.get(Client, incident.client_id)
    if client is None:
        raise NotFoundError(f"incident {incident.id}: client does not exist")
    request = UrgentVisitRequest(
        natural_key=DAY2_VISIT_KEY.format(incident_id=incident.id),
        client_id=client.id,
        earliest=day,
        latest=day,
        skills=VISIT_SKILLS,
        purpose="안부 확인 2일차 방문 (12시까지)",
        service_type="monitoring",
        source="alert",
        duration_min=30,
    )
    if county_business_day(session, day):
        coordinator = _free(session, client.usual_staff_id, day)
        if coordinator is not None:
            visit = book_named_visit(session, request, coordinator, day, DAY2_VISIT_AT)
        else:  # the usual coordinator is away: whoever in the town can go that day
            visit = book_urgent_visit(session, request).visit
    else:
        duty = session.scalar(select(DutyRoster.staff_id).where(DutyRoster.day == day))
        worker = _free(session, duty, day)
        if worker is None:
            raise CapacityError(f"incident {incident.id}: no on-duty worker on {day}")
        visit = book_named_visit(session, request, worker, day, DAY2_VISIT_AT)
    return int(visit.staff_id or 0), visit.id


def _day2(
    session: Session,
    incident: Incident,
    steps: dict[str, EscalationStep],
    now: dt.datetime,
    result: EscalationResult,
) -> None:
    opened_day = _aware(incident.opened_at).astimezone(SEOUL).date()
    day2 = opened_day + dt.timedelta(days=1)
    if now < _at(day2, DAY2_STARTS):
        return
    visit_step = _ensure(
        session, steps, incident, "day2_home_visit", _at(day2, DAY2_DEADLINE), result
    )
    if visit_step.visit_id is None and visit_step.status == "due":
        try:
            with session.begin_nested():
                # a run days late books for today: a visit in the past reaches nobody
                visit_day = max(day2, now.astimezone(SEOUL).date())
                staff_id, visit_id = _book_day2(session, incident, visit_day)
        except CapacityError as error:  # this person's visit waits for a human; others go on
            result.unassigned.append(incident.id)
            operations.raise_alert(
                session,
                workflow="device_alert_sync",
                kind="day2_visit_unassigned",
                entity="incident",
                entity_id=str(incident.id),
                detail=str(error),
            )
            return
        visit_step.staff_id, visit_step.visit_id = staff_id, visit_id
        result.visits_booked.append(incident.id)
    if visit_step.status == "done" and visit_step.outcome in NOT_FOUND:
        _ensure(
            session,
            steps,
            incident,
            "day2_police_report",
            _aware(visit_step.done_at or now),
            result,
        )
        _text_coordinator(session, incident, "day2_police_report")


def _text_person(
    session: Session, incident: Incident, step: EscalationStep, now: dt.datetime
) -> None:
    """Queue the day-1 SMS to the person (and the guardian with consent), once; the step
    is done when the gateway took every text, or undeliverable when one was dead-lettered."""
    if step.status != "due":
        return
    client = session.get(Client, incident.client_id)
    if client is None:
        return
    roles = ["client"]
    if client.guardian_consent and client.guardian_phone_enc:
        roles.append("guardian")
    messages = [
        notify.queue_sms(
            session,
            natural_key=f"incident:{incident.id}:day1_text_message:{role}",
            purpose="day1_text_message",
            recipient_role=role,
            client_id=client.id,
        )
        for role in roles
    ]
    _settle(step, {m.status for m in messages}, now)


def _settle(step: EscalationStep, states: set[str], now: dt.datetime) -> None:
    """The text step is done once the gateway took every text, undeliverable if one died."""
    if states & {"dead_letter", "failed"}:
        step.status, step.outcome, step.done_at = "done", "undeliverable", _aware(now)
    elif states and states <= {"sent", "delivered"}:
        step.status, step.outcome, step.done_at = "done", "sent", _aware(now)


def send_texts(
    session: Session,
    sender: notify.SmsSender,
    vault: Vault,
    now: dt.datetime,
    *,
    max_attempts: int,
    backoff: dt.timedelta,
) -> notify.SendResult:
    """Send the due texts, then settle the day-1 text steps they belong to at once (the
    desk must not see a text as due that the gateway already took)."""
    result = notify.send_queued(
        session, sender, vault, now, max_attempts=max_attempts, backoff=backoff
    )
    due = session.scalars(
        select(EscalationStep).where(
            EscalationStep.step == "day1_text_message", EscalationStep.status == "due"
        )
    ).all()
    for step in due:
        prefix = f"incident:{step.incident_id}:day1_text_message:"
        states = set(
            session.scalars(
                select(OutboundMessage.status).where(OutboundMessage.natural_key.startswith(prefix))
            )
        )
        _settle(step, states, now)
        incident = session.get(Incident, step.incident_id)
        if incident is not None and step.status == "done":
            _next_step(session, incident)
    session.flush()
    return result


def _next_step(
    session: Session, incident: Incident, steps: dict[str, EscalationStep] | None = None
) -> None:
    """The incident's earliest due step (``steps``: already loaded, saves a query)."""
    rows = steps if steps is not None else _steps(session, incident.id)
    due = [s for s in rows.values() if s.status == "due"]
    incident.current_step = min(due, key=lambda s: _aware(s.due_at)).step if due else None


def _text_coordinator(session: Session, incident: Incident, step: str) -> None:
    """Text the client's coordinator that ``step`` is due (a critical incident at once,
    the police report after a day-2 visit that found nobody); the desk sees the step on
    its list. Once per incident and step."""
    client = session.get(Client, incident.client_id)
    if client is None or client.usual_staff_id is None:
        return
    notify.queue_sms(
        session,
        natural_key=f"incident:{incident.id}:{step}:staff",
        purpose=step,
        recipient_role="staff",
        staff_id=client.usual_staff_id,
    )


def run_escalation(session: Session, now: dt.datetime) -> EscalationResult:
    """Create every step that is due by ``now`` on every open incident, once."""
    now = _aware(now)
    result = EscalationResult()
    incidents = session.scalars(
        select(Incident).where(Incident.status == "open").order_by(Incident.opened_at)
    ).all()
    for incident in incidents:
        opened = _aware(incident.opened_at)
        if opened > now:
            continue  # a re-run of an earlier sync: the incident did not exist then
        steps = _steps(session, incident.id)
        if incident.critical:
            _ensure(session, steps, incident, "critical_notify", opened, result)
            _text_coordinator(session, incident, "critical_notify")
        call = _ensure(session, steps, incident, "day1_call", opened, result)
        if call.status == "done" and call.outcome == "no_answer":
            text = _ensure(
                session, steps, incident, "day1_text_message", _aware(call.done_at or now), result
            )
            _text_person(session, incident, text, now)
        _day2(session, incident, steps, now, result)
        _next_step(session, incident, steps)
    session.flush()
    return result


def _staff_id(session: Session, staff_code: str) -> int:
    staff_id = session.scalar(select(Staff.id).where(Staff.code == staff_code))
    if staff_id is None:
        raise NotFoundError("staff_code: no coordinator with this code (rule: known staff)")
    return int(staff_id)


def record_step_outcome(
    session: Session,
    incident_id: int,
    step: str,
    outcome: str,
    staff_code: str,
    now: dt.datetime,
) -> EscalationStep:
    """A person records what a step found; a found person closes the incident."""
    if step not in STEP_OUTCOMES:
        raise ValidationError("step", f"must be one of {', '.join(STEP_OUTCOMES)}")
    if outcome not in STEP_OUTCOMES[step]:
        raise ValidationError("outcome", f"must be one of {', '.join(STEP_OUTCOMES[step])}")
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFoundError(f"incident {incident_id} does not exist")
    if incident.status != "open":
        raise ValidationError("incident", "is closed: outcomes are recorded on open incidents")
    staff_id = _staff_id(session, staff_code)
    row = _steps(session, incident_id).get(step)
    if row is None:  # a door visit is made when the desk decides, not on the clock
        row = EscalationStep(incident_id=incident_id, step=step, due_at=_aware(now))
        session.add(row)
    row.status, row.outcome, row.done_at, row.staff_id = "done", outcome, _aware(now), staff_id
    session.flush()
    if outcome in FOUND:
        close_incident(session, incident_id, FOUND[outcome], staff_code, None, now)
    return row


def _cancel_visit(session: Session, step: EscalationStep) -> None:
    """A day-2 visit nobody needs any more leaves the route at the next replan."""
    if step.visit_id is None:
        return
    visit = session.get(Visit, step.visit_id)
    if visit is not None and visit.status in ("planned", "booked"):
        visit.status = "cancelled"


def close_incident(
    session: Session,
    incident_id: int,
    reason: str,
    staff_code: str,
    note: str | None,
    now: dt.datetime,
) -> Incident:
    """Close an incident with its reason; its open steps are cancelled."""
    if reason not in vocab.INCIDENT_CLOSE_REASONS:
        raise ValidationError("reason", f"must be one of {', '.join(vocab.INCIDENT_CLOSE_REASONS)}")
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFoundError(f"incident {incident_id} does not exist")
    if incident.status == "closed":
        return incident
    _staff_id(session, staff_code)
    for step in _steps(session, incident_id).values():
        if step.status == "due":
            step.status = "cancelled"
            _cancel_visit(session, step)
    incident.status, incident.closed_at = "closed", _aware(now)
    incident.closed_by, incident.close_reason, incident.close_note = staff_code, reason, note
    incident.current_step = None
    # a day-2 visit nobody could be booked for is moot once the incident is closed
    operations.resolve_alerts(session, ("day2_visit_unassigned",), "incident", str(incident_id))
    session.flush()
    return incident


__all__ = [
    "STEP_OUTCOMES",
    "EscalationResult",
    "close_incident",
    "county_business_day",
    "record_step_outcome",
    "run_escalation",
    "send_texts",
]
