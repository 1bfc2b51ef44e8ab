"""Months of the county's operations made by the workflows' code (care_sim.history)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from care_models.db import session_factory
from care_models.pledges.actuals import measure_span
from care_models.privacy import Vault
from care_models.schema import (
    AgendaItem,
    Alert,
    CarePlan,
    Case,
    Client,
    ClientAbsence,
    Decision,
    Incident,
    LtcGradeChange,
    PlannedService,
    Referral,
)
from care_models.synthetic.conference_history import REASONS, REVIEW_EVERY, plan_ended
from care_models.synthetic.county import build_county
from care_sim.history import simulate_operations

START, END = dt.date(2026, 3, 1), dt.date(2026, 4, 30)


def _counts(session: Session) -> dict[str, int]:
    return {
        model.__tablename__: int(session.scalar(select(func.count()).select_from(model)) or 0)
        for model in (Referral, Case, Alert, Incident, ClientAbsence, LtcGradeChange, Decision)
    }


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_two_months_of_operations_give_the_pledge_queries_rows(
    county_engine: Engine, vault: Vault
) -> None:
    county = build_county()
    factory = session_factory(county_engine)
    with factory() as session:
        before = _counts(session)
    made = simulate_operations(factory, vault, county, START, END, seed=5)
    with factory() as session:
        after = _counts(session)
        from_referrals = session.scalar(
            select(func.count()).select_from(Case).where(Case.referral_id.is_not(None))
        )
        closed = session.scalar(
            select(func.count()).select_from(Incident).where(Incident.status == "closed")
        )
        kept_out = measure_span(
            session, "pledges/count_kept_out_of_high_cost_care", "%", START, END
        )
        settled = measure_span(session, "pledges/count_settled_discharges", "%", START, END)
    assert made.days == 61 and made.referrals > 0 and made.cases_opened > 0
    assert after["referrals"] - before["referrals"] == made.referrals
    assert from_referrals and from_referrals >= made.cases_opened
    assert after["alerts"] - before["alerts"] == made.alerts_stored > 0
    assert closed and made.steps_recorded["day1_call: reached"] > 0
    assert after["ltc_grade_changes"] == sum(made.grade_notices.values()) > 0
    assert after["client_absences"] - before["client_absences"] == made.readmissions
    assert made.conferences_held > 0 and after["decisions"] > before["decisions"]
    assert kept_out.rows_counted > 0 and kept_out.actual is not None
    assert settled.rows_counted >= made.cases_opened
    # the same window again: referrals, alerts and conferences are not made twice
    again = simulate_operations(factory, vault, county, START, END, seed=5)
    with factory() as session:
        last = _counts(session)
    assert again.days == 0 and again.referrals == 0 and again.alerts_stored == 0
    assert last["referrals"] == after["referrals"] and last["alerts"] == after["alerts"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_case_whose_plan_ended_is_closed_at_its_next_conference(
    county_engine: Engine, vault: Vault
) -> None:
    start, end = dt.date(2026, 3, 2), dt.date(2026, 3, 15)
    factory = session_factory(county_engine)
    with factory.begin() as session:
        ended, running = session.scalars(
            select(CarePlan)
            .join(Case, Case.id == CarePlan.case_id)
            .where(CarePlan.status == "active", ~Case.high_risk, Case.town_id == 1)
            .order_by(CarePlan.id)
            .limit(2)
        ).all()
        for plan in (ended, running):  # both due for their review in the first week
            plan.approved_on = start + dt.timedelta(days=3) - REVIEW_EVERY
        for service in session.scalars(
            select(PlannedService).where(PlannedService.care_plan_id == ended.id)
        ):
            service.end_date = start - dt.timedelta(days=30)  # its services are over
        assert plan_ended(session, ended.case_id or 0, start)
        assert not plan_ended(session, running.case_id or 0, start)
    made = simulate_operations(factory, vault, build_county(), start, end, seed=5)
    with factory() as session:
        case = session.get(Case, ended.case_id)
        plan = session.get(CarePlan, ended.id)
        other = session.get(Case, running.case_id)
        assert case is not None and plan is not None and other is not None
        client = session.get(Client, case.client_id)
        reasons = set(
            session.scalars(
                select(Decision.reason)
                .join(AgendaItem, AgendaItem.id == Decision.agenda_item_id)
                .where(AgendaItem.case_id == case.id)
            )
        )
        assert case.status == "closed" and start <= (case.closed_on or start) <= end
        assert plan.status == "closed" and plan.valid_to == case.closed_on
        assert client is not None and client.risk_tier == "closed"  # after-care
        assert reasons == {REASONS["plan_ended"]}
        assert other.status != "closed"  # its services still run
    assert made.cases_closed >= 1
    # the same window again closes nothing more
    assert simulate_operations(factory, vault, build_county(), start, end, seed=5).cases_closed == 0
