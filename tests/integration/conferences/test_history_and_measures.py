"""A simulated stretch of conferences by the real code, and the measures of sql/conferences/."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.conferences.measures import conference_measures
from care_models.schema import (
    AgendaItem,
    Case,
    Client,
    Conference,
    ConferenceParticipant,
    Decision,
    Need,
)
from care_models.synthetic.conference_history import simulate_conferences

START, END = dt.date(2026, 9, 1), dt.date(2026, 10, 31)  # Chuseok falls in between


def test_a_simulated_stretch_holds_conferences_decides_most_needs_and_the_measures_agree(
    county_engine: Engine,
) -> None:
    with Session(county_engine) as session, session.begin():
        history = simulate_conferences(session, START, END)
        again = simulate_conferences(session, START, END)  # the same days: nothing new
    assert history.conferences_held >= 60 and history.decisions > 50
    assert again.conferences_held == 0 and again.decisions == 0
    with Session(county_engine) as session:
        figures = conference_measures(session, START, END + dt.timedelta(days=1))
        # the same figures, counted here from the rows
        needs = decided = 0
        per_category: Counter[str] = Counter()
        for item, _conference in session.execute(
            select(AgendaItem, Conference)
            .join(Conference, Conference.id == AgendaItem.conference_id)
            .where(Conference.status == "held", AgendaItem.status == "discussed")
        ):
            for need in session.scalars(select(Need).where(Need.case_id == item.case_id)):
                needs += 1
                per_category[need.category] += 1
                row = session.scalar(
                    select(Decision).where(
                        Decision.agenda_item_id == item.id, Decision.need_id == need.id
                    )
                )
                decided += row is not None and row.decision != "defer"
        linked = Counter(
            household
            for (household,) in session.execute(
                select(Client.household_type)
                .join(Case, Case.client_id == Client.id)
                .join(AgendaItem, AgendaItem.case_id == Case.id)
                .join(Decision, Decision.agenda_item_id == AgendaItem.id)
                .where(Decision.decision == "link_service")
            )
        )
        seats = session.scalar(
            select(ConferenceParticipant.id)
            .join(Conference, Conference.id == ConferenceParticipant.conference_id)
            .where(Conference.status == "held")
        )
    assert (figures.needs, figures.decided) == (needs, decided) and needs > 0
    assert {c: v["needs"] for c, v in figures.by_category.items() if v["needs"]} == dict(
        per_category
    )
    assert figures.decision_rate is not None and 90 <= figures.decision_rate <= 100
    assert {r["target_group"]: r["linkages"] for r in figures.linkages} == dict(linked)
    held = {r["tier"]: r for r in figures.conferences}
    assert held[1]["held"] > 50 and held[2]["held"] >= 3
    assert held[2]["moved"] == 1  # 24 September, the 4th Thursday, is Chuseok
    assert seats is not None and sum(r["seats"] for r in figures.attendance) > 0
    assert all(0 < r["attended"] <= r["seats"] for r in figures.attendance)
