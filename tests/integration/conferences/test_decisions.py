"""Decisions per need, refused when wrong with nothing written, and their effects."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from care_models.conferences.agenda import build_agenda
from care_models.conferences.decisions import DecisionInput, record_decisions
from care_models.conferences.effects import apply_effects
from care_models.conferences.schedule import ensure_schedule
from care_models.errors import ValidationError
from care_models.schema import (
    AgendaItem,
    AuditLog,
    CarePlan,
    Case,
    Client,
    Conference,
    Decision,
    Need,
    Organisation,
    PlannedService,
    Referral,
    ReferralStatusEvent,
    Town,
    Visit,
)
from care_models.visits.demand import expand_demand

TODAY = dt.date(2026, 12, 1)
NOW = dt.datetime(2026, 12, 8, 6, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Listed:
    conference_id: int
    held_on: dt.date
    case_id: int
    client_id: int
    referral_id: int
    needs: dict[str, int]  # category -> need id


def discharged_case(session: Session) -> Listed:
    """A referral's case from intake, with three needs, on next week's JC-01 agenda
    (the first client of the town with no case yet)."""
    town_id = session.scalar(select(Town.id).where(Town.code == "JC-01"))
    client = session.scalars(
        select(Client)
        .where(Client.town_id == town_id, ~Client.id.in_(select(Case.client_id)))
        .order_by(Client.id)
    ).first()
    hospital = session.scalar(select(Organisation).where(Organisation.kind == "hospital"))
    assert town_id is not None and client is not None and hospital is not None
    referral = Referral(
        hospital_id=hospital.id,
        identifier_system="urn:test",
        identifier_value="R-1",
        raw_payload_enc="x",
        payload_sha256="0" * 64,
        status="accepted",
        client_id=client.id,
    )
    session.add(referral)
    session.flush()
    case = Case(
        client_id=client.id,
        town_id=town_id,
        referral_id=referral.id,
        status="open",
        opened_on=TODAY,
    )
    session.add(case)
    session.flush()
    needs = {}
    for category, code in (
        ("health_medical", "home_nursing"),
        ("care_ltc", "ltc_grade"),
        ("housing", "repair"),
    ):
        need = Need(case_id=case.id, category=category, code=code, identified_on=TODAY)
        session.add(need)
        session.flush()
        needs[category] = need.id
    meeting = session.scalars(
        select(Conference)
        .where(Conference.tier == 1, Conference.town_id == town_id, Conference.scheduled_on > TODAY)
        .order_by(Conference.scheduled_on)
    ).first()
    assert meeting is not None
    build_agenda(session, meeting.id, TODAY)
    return Listed(meeting.id, meeting.scheduled_on, case.id, client.id, referral.id, needs)


@pytest.fixture
def listed(county_engine: Engine) -> tuple[Engine, Listed]:
    with Session(county_engine) as session, session.begin():
        ensure_schedule(session, TODAY)
        return county_engine, discharged_case(session)


def decisions(listed: Listed) -> list[DecisionInput]:
    return [
        DecisionInput(
            listed.needs["health_medical"],
            "link_service",
            "퇴원 후 간호 필요",
            provider_code="P-NURSING",
            service_type="home_nursing",
            cadence="weekly",
            amount=1,
        ),
        DecisionInput(listed.needs["care_ltc"], "approve", "장기요양 등급 신청 지원"),
        DecisionInput(listed.needs["housing"], "defer", "집주인 동의 대기"),
    ]


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"need_id": -1}, "decisions[0].need_id", "is not a need of this case"),
        ({"provider_code": "P-MEALS"}, "decisions[0].provider_code", "does not offer this service"),
        ({"provider_code": "P-NOWHERE"}, "decisions[0].provider_code", "is not a known provider"),
        ({"cadence": "hourly"}, "decisions[0].cadence", "must be one of"),
        ({"reason": " "}, "decisions[0].reason", "is required"),
        ({"decision": "shrug"}, "decisions[0].decision", "must be approve"),
    ],
)
def test_a_wrong_decision_is_refused_naming_the_field_and_nothing_is_written(
    listed: tuple[Engine, Listed], change: dict[str, object], field: str, rule: str
) -> None:
    engine, case = listed
    bad = decisions(case)
    bad[0] = DecisionInput(**{**bad[0].__dict__, **change})  # type: ignore[arg-type]
    with Session(engine) as session, session.begin():
        with pytest.raises(ValidationError) as refused:
            record_decisions(
                session, case.conference_id, case.case_id, bad, staff_code="S0001", now=NOW
            )
        assert field in str(refused.value) and rule in str(refused.value)
        for value in change.values():
            if isinstance(value, str) and value.strip():
                assert value not in str(refused.value)
        assert count(session, Decision) == 0


def test_a_case_not_on_the_agenda_is_refused(listed: tuple[Engine, Listed]) -> None:
    engine, case = listed
    with Session(engine) as session, session.begin():
        other = session.scalar(
            select(Case.id).where(Case.id != case.case_id, Case.status != "closed")
        )
        on_agenda = set(
            session.scalars(
                select(AgendaItem.case_id).where(AgendaItem.conference_id == case.conference_id)
            )
        )
        assert other is not None
        if other in on_agenda:
            other = max(on_agenda | {other}) + 10_000
        with pytest.raises(ValidationError, match="case_id: is not on this conference's agenda"):
            record_decisions(
                session, case.conference_id, other, decisions(case), staff_code="S0001", now=NOW
            )


def test_decisions_are_recorded_once_and_changed_only_by_an_audited_amendment(
    listed: tuple[Engine, Listed],
) -> None:
    engine, case = listed
    with Session(engine) as session, session.begin():
        first = record_decisions(
            session, case.conference_id, case.case_id, decisions(case), staff_code="S0001", now=NOW
        )
        again = record_decisions(
            session, case.conference_id, case.case_id, decisions(case), staff_code="S0001", now=NOW
        )
        assert [d.id for d in first] == [d.id for d in again] and count(session, Decision) == 3
        changed = [DecisionInput(case.needs["care_ltc"], "close_case", "가족이 모시기로 함")]
        with pytest.raises(ValidationError, match="already decided differently"):
            record_decisions(
                session, case.conference_id, case.case_id, changed, staff_code="S0001", now=NOW
            )
        (amended,) = record_decisions(
            session,
            case.conference_id,
            case.case_id,
            changed,
            staff_code="S0001",
            now=NOW,
            amend=True,
        )
        assert amended.decision == "close_case" and amended.amendments == 1
        assert (
            session.scalar(select(AuditLog.action).where(AuditLog.entity == "decision")) == "amend"
        )
        needs = dict(
            session.execute(
                select(Need.category, Need.status).where(Need.case_id == case.case_id)
            ).all()
        )
        assert needs == {
            "health_medical": "decided",
            "care_ltc": "decided",
            "housing": "identified",
        }


def test_effects_activate_the_plan_link_the_service_move_the_task_and_reach_the_demand(
    listed: tuple[Engine, Listed],
) -> None:
    engine, case = listed
    with Session(engine) as session, session.begin():
        record_decisions(
            session, case.conference_id, case.case_id, decisions(case), staff_code="S0001", now=NOW
        )
        before = apply_effects(session, case.held_on - dt.timedelta(days=1), NOW)
        assert before.applied == 0  # not before the conference
        done = apply_effects(session, case.held_on, NOW)
        assert (done.applied, done.plans_activated, done.services_linked) == (3, 1, 1)
        assert done.care_plans_changed and done.tasks == {"plan approved": 1}
        assert apply_effects(session, case.held_on, NOW).applied == 0  # once
        plan = session.scalar(select(CarePlan).where(CarePlan.case_id == case.case_id))
        assert plan is not None and plan.status == "active"
        service = session.scalar(
            select(PlannedService).where(PlannedService.care_plan_id == plan.id)
        )
        assert service is not None and (service.service_type, service.cadence) == (
            "home_nursing",
            "weekly",
        )
        referral = session.get(Referral, case.referral_id)
        assert referral is not None and (referral.status, referral.business_status) == (
            "in-progress",
            "plan approved",
        )
        event = session.scalars(
            select(ReferralStatusEvent)
            .where(ReferralStatusEvent.referral_id == case.referral_id)
            .order_by(ReferralStatusEvent.version.desc())
        ).first()
        assert event is not None and event.business_status == "plan approved"
        due = expand_demand(
            session, case.held_on + dt.timedelta(days=1), case.held_on + dt.timedelta(days=14)
        )
        assert any(c.client_id == case.client_id and c.service_type == "home_nursing" for c in due)

        # the first visit of the linked service is done: "services started"
        session.add(
            Visit(
                natural_key="test:first-nursing",
                client_id=case.client_id,
                case_id=case.case_id,
                planned_service_id=service.id,
                service_type="home_nursing",
                purpose="방문간호",
                visit_date=case.held_on + dt.timedelta(days=2),
                status="done",
            )
        )
        session.flush()
        started = apply_effects(session, case.held_on + dt.timedelta(days=2), NOW)
        assert started.tasks == {"services started": 1}
        assert referral.business_status == "services started"


def test_closing_the_case_moves_the_client_to_after_care_and_completes_the_task(
    listed: tuple[Engine, Listed],
) -> None:
    engine, case = listed
    with Session(engine) as session, session.begin():
        record_decisions(
            session,
            case.conference_id,
            case.case_id,
            [DecisionInput(case.needs["care_ltc"], "close_case", "요양원 입소")],
            staff_code="S0001",
            now=NOW,
        )
        result = apply_effects(session, case.held_on, NOW)
        closed = session.get(Case, case.case_id)
        client = session.get(Client, case.client_id)
        referral = session.get(Referral, case.referral_id)
        assert result.cases_closed == 1 and closed is not None and closed.status == "closed"
        assert client is not None and client.risk_tier == "closed"
        assert referral is not None and referral.status == "completed"


def test_closing_one_case_of_a_client_with_another_open_keeps_their_care(
    listed: tuple[Engine, Listed],
) -> None:
    engine, case = listed
    with Session(engine) as session, session.begin():
        client = session.get(Client, case.client_id)
        assert client is not None
        tier = client.risk_tier
        other = Case(client_id=client.id, town_id=client.town_id, status="open", opened_on=TODAY)
        session.add(other)
        session.flush()
        record_decisions(
            session,
            case.conference_id,
            case.case_id,
            [DecisionInput(case.needs["care_ltc"], "close_case", "다른 사례로 통합 관리")],
            staff_code="S0001",
            now=NOW,
        )
        assert apply_effects(session, case.held_on, NOW).cases_closed == 1
        assert session.get(Case, case.case_id).status == "closed"  # type: ignore[union-attr]
        assert client.risk_tier == tier != "closed"


def test_a_tier2_referral_is_on_the_next_tier2_agenda(listed: tuple[Engine, Listed]) -> None:
    engine, case = listed
    with Session(engine) as session, session.begin():
        record_decisions(
            session,
            case.conference_id,
            case.case_id,
            [DecisionInput(case.needs["housing"], "refer_tier2", "주거 자원 조정 필요")],
            staff_code="S0001",
            now=NOW,
        )
        assert apply_effects(session, case.held_on, NOW).referred_tier2 == 1
        tier2 = session.scalars(
            select(Conference)
            .where(Conference.tier == 2, Conference.scheduled_on > case.held_on)
            .order_by(Conference.scheduled_on)
        ).first()
        assert tier2 is not None
        build_agenda(session, tier2.id, case.held_on)
        kinds = dict(
            session.execute(
                select(AgendaItem.case_id, AgendaItem.kind).where(
                    AgendaItem.conference_id == tier2.id
                )
            ).all()
        )
        assert kinds[case.case_id] == "escalated"


def test_inconsistent_decisions_stop_the_effects_and_nothing_is_applied(
    listed: tuple[Engine, Listed],
) -> None:
    engine, case = listed
    with Session(engine) as session, session.begin():
        record_decisions(
            session,
            case.conference_id,
            case.case_id,
            [
                DecisionInput(case.needs["care_ltc"], "close_case", "요양원 입소"),
                DecisionInput(
                    case.needs["health_medical"],
                    "link_service",
                    "간호",
                    provider_code="P-NURSING",
                    service_type="home_nursing",
                    cadence="weekly",
                ),
            ],
            staff_code="S0001",
            now=NOW,
        )
        with pytest.raises(
            ValidationError, match=f"case {case.case_id}: closed and given a service"
        ):
            apply_effects(session, case.held_on, NOW)
        assert (
            session.scalar(
                select(func.count()).select_from(Decision).where(Decision.applied_at.is_not(None))
            )
            == 0
        )
        closed = session.get(Case, case.case_id)
        assert closed is not None and closed.status == "open"
