"""The yearly report's documents: the card's header, charts with Hangul, the appendix."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from care_models.pledges.actuals import compute_actuals
from care_models.pledges.cards import shipped_cards
from care_models.pledges.consistency import consistency
from care_models.pledges.documents import write_report
from care_models.pledges.report import pledge_report
from care_models.pledges.store import load_cards
from care_models.synthetic.conference_history import simulate_conferences
from tests.support.pdf import pdf_font_names, pdf_text

RUN = dt.datetime(2026, 12, 1, 21, tzinfo=dt.UTC)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_report_is_laid_out_like_the_cards_and_traces_its_figures(
    county_engine: Engine, tmp_path: Path
) -> None:
    with Session(county_engine) as session, session.begin():
        load_cards(session, shipped_cards(), actor="test", now=RUN)
        simulate_conferences(session, dt.date(2026, 10, 1), dt.date(2026, 10, 31))
        compute_actuals(session, 2026, now=RUN)
        report = pledge_report(session, 2026)
        agreement, _changes = consistency(session)
        files = write_report(report, agreement, tmp_path / "first")
        again = write_report(pledge_report(session, 2026), agreement, tmp_path / "second")
    by_name = {f.name: f for f in files}
    assert set(by_name) == {
        "report.html",
        "report.pdf",
        "report.xlsx",
        "indicators.csv",
        "budget.csv",
    }
    html = by_name["report.html"].read_text(encoding="utf-8")
    pdf = by_name["report.pdf"].read_bytes()
    jincheon = next(p for p in report.programs if p.code == "JC-CARE-2026")
    # the card's header and plan, as the seed cards print them
    assert jincheon.header is not None and jincheon.header.version == 1
    assert "사업기간" in html and "주관부서" in html and "연차별 추진계획 및 추진실적" in html
    # the evaluation table: formula, data source and collection method as the card states
    settled_line = next(line for line in jincheon.indicators if line.code == "discharge_settled")
    assert settled_line.formula and settled_line.data_source
    assert '<th scope="col">산식</th>' in html and settled_line.formula in html
    # charts: one per indicator with targets, labels as text in Hangul
    charts = re.findall(r'<svg id="chart-JC-CARE-2026-\d+" role="img"', html)
    assert len(charts) == len(jincheon.series) >= 5
    assert "목표(A)</text>" in html and "실적(B)</text>" in html
    assert "퇴원환자 지역사회 정착 인원 (명)</text>" in html
    settled = next(s for s in jincheon.series if s.code == "discharge_settled")
    assert [p.label for p in settled.points][:2] == ["2025", "2026"]
    text = pdf_text(pdf)
    assert any("Nanum" in name or "Noto" in name for name in pdf_font_names(pdf))
    assert "목표(A)" in text and "실적(B)" in text and "기간별 목표 대비 실적" in text
    assert "퇴원환자 지역사회 정착 인원 (명)" in text
    # the appendix: every computed actual with its query and the rows it counted
    computed = [line for line in jincheon.indicators if line.source == "computed"]
    assert len(jincheon.traces) == len(computed) >= 5
    monitored = next(t for t in jincheon.traces if t.indicator == "households_monitored")
    households = next(line.actual for line in computed if line.code == "households_monitored")
    assert Decimal(monitored.rows_counted or 0) == households
    assert "sql/pledges/count_households_monitored.sql" in html
    assert "sql/pledges/count_households_monitored.sql" in text
    # the same data, the same bytes
    for first, second in zip(files, again, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name
