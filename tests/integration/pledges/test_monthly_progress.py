"""The monthly progress report: the year to date against the year's targets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from care_models.pledges.actuals import measure_span, report_actual
from care_models.pledges.cards import shipped_cards
from care_models.pledges.progress import elapsed_share, monthly_progress, year_target
from care_models.pledges.store import load_cards
from care_models.pledges.workflow import publish_month
from care_models.synthetic.conference_history import simulate_conferences

NOW = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
THROUGH = dt.date(2026, 12, 1)


def test_the_years_target_from_halves_and_the_share_of_the_year() -> None:
    halves = {"2026H1": Decimal(3), "2026H2+": Decimal(5), "2025": Decimal(9)}
    assert year_target(halves, 2026, "sum") == Decimal(8)
    assert year_target(halves, 2026, "level") == Decimal(5)
    assert year_target(halves, 2025, "sum") == Decimal(9)
    assert year_target(halves, 2027, "sum") is None
    assert elapsed_share(2026, dt.date(2026, 1, 1)) == 0
    assert elapsed_share(2026, dt.date(2027, 1, 1)) == 1
    assert elapsed_share(2026, dt.date(2026, 7, 2)) == Decimal(182) / Decimal(365)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_monthly_report_names_the_indicators_behind(
    county_engine: Engine, tmp_path: Path
) -> None:
    with Session(county_engine) as session, session.begin():
        load_cards(session, shipped_cards(), actor="test", now=NOW)
        simulate_conferences(session, dt.date(2026, 10, 1), dt.date(2026, 10, 31))
        report_actual(
            session,
            "JC-CARE-2026",
            "home_life_possible",
            "2026",
            Decimal("92.5"),
            entered_by="통합돌봄팀 주무관",
            evidence="2026 상반기 만족도 조사",
        )
        summary = publish_month(session, 2026, THROUGH, tmp_path)
        households = measure_span(
            session, "pledges/count_households_monitored", "가구", dt.date(2026, 1, 1), THROUGH
        ).actual
        progress = monthly_progress(session, 2026, THROUGH)
    lines = {(line.program, line.code): line for line in progress.lines}
    cases = lines[("JC-CARE-2026", "case_management")]
    assert cases.aggregation == "sum" and cases.year_target == 1900
    assert cases.expected == Decimal("1738.6")  # 1,900 x 334/365 days
    assert cases.behind == (cases.to_date is not None and cases.to_date < Decimal("1738.6"))
    monitored = lines[("JC-CARE-2026", "households_monitored")]
    assert monitored.to_date == households and monitored.expected == 450  # a level
    assert monitored.behind == (households is not None and households < 450)
    life = lines[("JC-CARE-2026", "home_life_possible")]
    assert (life.to_date, life.source, life.behind) == (Decimal("92.5"), "reported", True)
    assert "JC-CARE-2026 home_life_possible" in summary["behind"]
    html = (tmp_path / "pledges" / "2026" / "monthly" / "2026-11.html").read_text("utf-8")
    assert "2026년 11월 공약 추진상황 점검" in html and "목표 대비 부진 지표" in html
    assert "욕구 대비 지원결정률" in html
    csv = (tmp_path / "pledges" / "2026" / "monthly" / "2026-11.csv").read_bytes()
    assert "부진".encode() in csv
