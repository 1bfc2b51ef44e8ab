"""Each query in sql/pledges/ on SQLite and PostgreSQL, over rows the test places.

The rows go into 2031, a year the synthetic county never reaches, so every figure is
known: the county's own open cases are counted by the test the same way and added.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from care_models.errors import DuplicateError, ValidationError
from care_models.ltc import direction, record_grade_change
from care_models.pledges.actuals import measure, measure_span
from care_models.schema import Case, Client, LtcGradeChange, Town

YEAR = dt.date(2031, 1, 1), dt.date(2032, 1, 1)


def test_grade_change_directions() -> None:
    assert direction("none", "5") == "entered"
    assert direction("A", "cognitive") == "entered"
    assert direction("4", "2") == "rose"
    assert direction("2", "4") == "fell"
    assert direction("3", "none") == "left"
    assert direction("3", "3") == "same"
    assert direction("cognitive", "5") == "rose"


def _open_cases_overlapping(session: Session) -> set[int]:
    return set(
        session.scalars(
            select(Case.client_id).where(
                Case.opened_on < YEAR[1],
                or_(Case.closed_on.is_(None), Case.closed_on >= YEAR[0]),
            )
        )
    )


def test_kept_out_of_high_cost_care_counts_who_entered_or_rose(county_engine: Engine) -> None:
    with Session(county_engine) as session, session.begin():
        clients = list(session.scalars(select(Client).order_by(Client.id).limit(10)))
        town = session.scalar(select(Town.id))
        assert town is not None and len(clients) == 10
        for client in clients:
            client.ltc_grade = "none"
            session.add(
                Case(
                    client_id=client.id,
                    town_id=town,
                    opened_on=dt.date(2031, 2, 1),
                    closed_on=dt.date(2031, 12, 1),
                )
            )
        session.flush()
        # entered, then rose: one client once; rose; fell (not counted); before the year
        record_grade_change(session, clients[0].id, dt.date(2031, 3, 2), "4", "국민건강보험공단")
        record_grade_change(session, clients[0].id, dt.date(2031, 9, 1), "2", "국민건강보험공단")
        clients[1].ltc_grade = "3"
        record_grade_change(session, clients[1].id, dt.date(2031, 5, 1), "2", "국민건강보험공단")
        clients[2].ltc_grade = "2"
        record_grade_change(session, clients[2].id, dt.date(2031, 5, 1), "4", "국민건강보험공단")
        record_grade_change(session, clients[3].id, dt.date(2030, 12, 31), "5", "국민건강보험공단")
        with pytest.raises(DuplicateError, match="changed_on"):
            record_grade_change(session, clients[2].id, dt.date(2031, 5, 1), "1", "x")
        with pytest.raises(ValidationError, match="to_grade: must be one of"):
            record_grade_change(session, clients[4].id, dt.date(2031, 6, 1), "7", "x")
        in_care = _open_cases_overlapping(session)
        measured = measure_span(session, "pledges/count_kept_out_of_high_cost_care", "%", *YEAR)
        assert clients[0].ltc_grade == "2"
        directions = [
            c.direction
            for c in session.scalars(
                select(LtcGradeChange)
                .where(LtcGradeChange.client_id == clients[0].id)
                .order_by(LtcGradeChange.changed_on)
            )
        ]
    assert directions == ["entered", "rose"]
    assert measured.rows_counted == len(in_care)
    expected = (Decimal(100) * (len(in_care) - 2) / len(in_care)).quantize(Decimal("0.1"))
    assert measured.actual == expected


def test_jincheon_kept_out_figure(county_engine: Engine) -> None:
    """Jincheon's card: 425 clients in care, 40 entered or rose in grade: 90.6%."""
    with Session(county_engine) as session, session.begin():
        for case in session.scalars(select(Case)):
            case.closed_on = case.closed_on or dt.date(2030, 6, 30)
        session.flush()
        clients = list(session.scalars(select(Client).order_by(Client.id).limit(425)))
        town = session.scalar(select(Town.id))
        assert town is not None and len(clients) == 425
        for client in clients:
            client.ltc_grade = "none"
            session.add(Case(client_id=client.id, town_id=town, opened_on=dt.date(2030, 3, 1)))
        session.flush()
        for client in clients[:40]:
            record_grade_change(session, client.id, dt.date(2031, 4, 1), "3", "국민건강보험공단")
        rate = measure(session, "pledges/count_kept_out_of_high_cost_care", "%", "2031")
        first_half = measure(session, "pledges/count_kept_out_of_high_cost_care", "%", "2031H1")
        second_half = measure(session, "pledges/count_kept_out_of_high_cost_care", "%", "2031H2")
    assert rate == Decimal("90.6")
    assert first_half == Decimal("90.6") and second_half == Decimal("100.0")
