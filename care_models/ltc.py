"""Long-term-care grades over time: the history behind "kept out of high-cost care".

A client's grade (장기요양등급) changes by the insurer's notice. Each change is kept
with its direction, fixed when it is recorded:

- ``entered``: from no grade (none, or the out-of-grade A/B) to a grade;
- ``rose``: to a heavier grade (grade 1 is the heaviest; 인지지원 the lightest);
- ``fell`` / ``left``: lighter, or out of the grades again;
- ``same``: a renewal at the same grade.

Entering or rising is the step towards facility and high-cost home care that
integrated care tries to prevent; ``sql/pledges/count_kept_out_of_high_cost_care.sql``
counts the clients in care who took neither step in a period.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models import vocab
from care_models.errors import DuplicateError, NotFoundError, ValidationError
from care_models.schema import Client, LtcGradeChange

# How heavy each grade is; 0 is outside the grades (A and B are 등급외).
SEVERITY = {"none": 0, "A": 0, "B": 0, "cognitive": 1, "5": 2, "4": 3, "3": 4, "2": 5, "1": 6}


def direction(from_grade: str, to_grade: str) -> str:
    before, after = SEVERITY[from_grade], SEVERITY[to_grade]
    if before == after:
        return "same"
    if before == 0:
        return "entered"
    if after == 0:
        return "left"
    return "rose" if after > before else "fell"


def record_grade_change(
    session: Session, client_id: int, changed_on: dt.date, to_grade: str, recorded_by: str
) -> LtcGradeChange:
    """Record the insurer's notice: the client's grade becomes ``to_grade`` from
    ``changed_on``; the change is kept with its direction. A second notice for the same
    day is refused; an older notice entered late is kept in the history without
    changing the current grade."""
    if to_grade not in vocab.LTC_GRADES:
        raise ValidationError("to_grade", "must be one of the long-term-care grades")
    client = session.get(Client, client_id)
    if client is None:
        raise NotFoundError("client_id: no such client")
    if session.scalar(
        select(LtcGradeChange.id).where(
            LtcGradeChange.client_id == client_id, LtcGradeChange.changed_on == changed_on
        )
    ):
        raise DuplicateError("changed_on: a grade change is already recorded for that day")
    change = LtcGradeChange(
        client_id=client_id,
        changed_on=changed_on,
        from_grade=client.ltc_grade,
        to_grade=to_grade,
        direction=direction(client.ltc_grade, to_grade),
        recorded_by=recorded_by,
    )
    session.add(change)
    latest = session.scalar(
        select(LtcGradeChange.changed_on)
        .where(LtcGradeChange.client_id == client_id)
        .order_by(LtcGradeChange.changed_on.desc())
    )
    if latest is None or changed_on >= latest:
        client.ltc_grade = to_grade
    session.flush()
    return change
