"""The town desk as the simulations play it: each step due gets its outcome.

Used by the years of history (:mod:`care_sim.history`) and the alert benchmark: the
desk records every step due by ``now`` (texts excepted: those are the SMS gateway's)
with :func:`care_models.alerts.protocol.record_step_outcome`, as a coordinator does.
Most people answer the day-1 call; of the others, most are found at home by the
day-2 visit; the police find the rest.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from care_models.alerts.protocol import record_step_outcome
from care_models.schema import EscalationStep, Incident

DAY1_REACHED = 0.8
DAY2_REACHED = 0.9


def answer_due_steps(
    factory: sessionmaker[Session], now: dt.datetime, staff_code: str, rng: random.Random
) -> Counter[str]:
    """Record an outcome for each step due by ``now``; counts per "step: outcome"."""
    outcomes: Counter[str] = Counter()
    with factory.begin() as session:
        due = session.execute(
            select(EscalationStep.incident_id, EscalationStep.step)
            .join(Incident, Incident.id == EscalationStep.incident_id)
            .where(
                Incident.status == "open",
                EscalationStep.status == "due",
                EscalationStep.due_at <= now,
                EscalationStep.step != "day1_text_message",
            )
            .order_by(EscalationStep.incident_id, EscalationStep.step)
        ).all()
        closed: set[int] = set()
        for incident_id, step in due:
            if incident_id in closed:
                continue
            if step == "critical_notify":
                outcome = "acknowledged"
            elif step == "day1_call":
                outcome = "reached" if rng.random() < DAY1_REACHED else "no_answer"
            elif step == "day2_home_visit":
                outcome = "reached" if rng.random() < DAY2_REACHED else "not_found"
            else:  # day2_police_report
                outcome = "found"
            record_step_outcome(session, incident_id, step, outcome, staff_code, now)
            outcomes[f"{step}: {outcome}"] += 1
            if outcome in ("reached", "found"):
                closed.add(incident_id)
    return outcomes
