"""Actuals from the care data, reported actuals and execution through the gate, the report."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from care_models.errors import ValidationError
from care_models.pledges.actuals import (
    compute_actuals,
    period_dates,
    record_execution,
    report_actual,
)
from care_models.pledges.cards import shipped_cards
from care_models.pledges.report import pledge_report, rate
from care_models.pledges.store import load_cards
from care_models.schema import Device, Incident, IndicatorActual
from care_models.synthetic.conference_history import simulate_conferences

NOW = dt.datetime(2026, 12, 4, tzinfo=dt.UTC)


def test_rates_as_the_seeds_define_them() -> None:
    assert rate(Decimal(130), Decimal(109)) == Decimal("119.3")  # Yesan clients
    assert rate(Decimal(201), Decimal(213)) == Decimal("94.4")  # Yesan budget executed
    assert rate(Decimal(200), Decimal(227)) == Decimal("88.1")  # Jincheon settled
    assert rate(Decimal(188), Decimal(180)) == Decimal("104.4")  # Yeoncheon 2024
    assert rate(Decimal(1750), Decimal(1814)) == Decimal("96.5")  # Jincheon decisions
    assert rate(Decimal(425 - 40), Decimal(425)) == Decimal("90.6")  # kept out of high cost
    assert rate(Decimal(187), Decimal(204)) == Decimal("91.7")  # Jincheon stayed at home
    assert rate(None, Decimal(10)) is None and rate(Decimal(1), None) is None
    assert period_dates("2026H1") == (dt.date(2026, 1, 1), dt.date(2026, 7, 1))
    assert period_dates("2026H2+") == (dt.date(2026, 7, 1), dt.date(2027, 1, 1))
    assert period_dates("prior") is None and period_dates("2027+") is None


def test_the_countys_actuals_come_from_its_data_and_the_report_adds_up(
    county_engine: Engine,
) -> None:
    with Session(county_engine) as session, session.begin():
        load_cards(session, shipped_cards(), actor="test", now=NOW)
        simulate_conferences(session, dt.date(2026, 10, 1), dt.date(2026, 10, 31))
        computed = {(c.program, c.indicator, c.period): c for c in compute_actuals(session, 2026)}
        households = session.scalar(
            select(func.count(func.distinct(Device.client_id))).where(Device.status == "active")
        )
        closed = session.scalar(
            select(func.count()).select_from(Incident).where(Incident.status == "closed")
        )
    monitored = computed[("JC-CARE-2026", "households_monitored", "2026")]
    assert monitored.actual == households and households
    assert computed[("JC-CARE-2026", "incidents_handled", "2026")].actual == closed
    decisions = computed[("JC-CARE-2026", "conference_decision_rate", "2026")].actual
    assert decisions is not None and Decimal(90) <= decisions <= Decimal(100)
    with Session(county_engine) as session, session.begin():
        # what the platform cannot know is reported, with who and on what evidence
        report_actual(
            session,
            "JC-CARE-2026",
            "home_life_possible",
            "2026",
            Decimal("95.5"),
            entered_by="통합돌봄팀 주무관",
            evidence="2026 만족도 조사 결과 보고",
        )
        with pytest.raises(ValidationError, match="period: must be a year or half-year inside"):
            report_actual(
                session,
                "JC-CARE-2026",
                "home_life_possible",
                "2031",
                Decimal(1),
                entered_by="x",
                evidence="y",
            )
        with pytest.raises(ValidationError, match="value: must not be negative"):
            report_actual(
                session,
                "JC-CARE-2026",
                "home_life_possible",
                "2026",
                Decimal(-1),
                entered_by="x",
                evidence="y",
            )
        with pytest.raises(ValidationError, match="entered_by/evidence: a reported actual needs"):
            report_actual(
                session,
                "JC-CARE-2026",
                "home_life_possible",
                "2026",
                Decimal(90),
                entered_by="통합돌봄팀 주무관",
                evidence="  ",
            )
        flagged = report_actual(
            session,
            "JC-CARE-2026",
            "case_management",
            "2026",
            Decimal(5000),
            entered_by="x",
            evidence="y",
        )
        assert flagged.review_flag and "150%" in flagged.review_flag  # flagged, not blocked
        record_execution(session, "GIMCHEON-8-8", "national", "2025", Decimal(3))
        with pytest.raises(ValidationError, match="amount: must not exceed the planned budget"):
            record_execution(session, "GIMCHEON-8-8", "national", "2025", Decimal(4))
        again = {(c.program, c.indicator, c.period): c for c in compute_actuals(session, 2026)}
        assert again[("JC-CARE-2026", "case_management", "2026")].skipped == "reported"  # kept
        report = pledge_report(session, 2026)
        reported = session.scalar(
            select(IndicatorActual.entered_by).where(
                IndicatorActual.evidence == "2026 만족도 조사 결과 보고"
            )
        )
    assert reported == "통합돌봄팀 주무관"
    by_code = {p.code: p for p in report.programs}
    jincheon = by_code["JC-CARE-2026"]
    lines = {(line.code, line.period): line for line in jincheon.indicators}
    life = lines[("home_life_possible", "2026")]
    assert (life.target, life.actual, life.achievement, life.source) == (
        Decimal(94),
        Decimal("95.5"),
        Decimal("101.6"),
        "reported",
    )
    capped = [
        min(line.achievement, Decimal(100))
        for line in jincheon.indicators
        if line.achievement is not None
    ]
    assert jincheon.computed_progress == (sum(capped) / len(capped)).quantize(Decimal("0.1"))
    assert report.completion_rate == Decimal("0.0")  # no card says 완료
    assert report.target_rate is not None
    gimcheon = {(b.source, b.period): b for b in by_code["GIMCHEON-8-8"].budget}
    assert gimcheon[("national", "2026H1")].planned == 3  # as printed
    assert gimcheon[("national", "2026H1")].execution_rate is None  # nothing executed yet
    with Session(county_engine) as session:
        year_2025 = pledge_report(session, 2025, "GIMCHEON-8-8")
    (program,) = year_2025.programs
    executed = {(b.source, b.period): b.execution_rate for b in program.budget}
    assert executed[("national", "2025")] == Decimal("100.0")
