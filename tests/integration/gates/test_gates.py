"""Data-quality gates: suites load whole, bad rows are quarantined, bad batches stop."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

import gates
from care_models.errors import ConfigurationError, GateFailure, PrivacyError
from care_models.schema import Client, GateResult, QuarantinedRow, Staff

SUITE_FILES = sorted(gates.SUITES_DIR.glob("*.json"))


@pytest.mark.parametrize("path", SUITE_FILES, ids=[p.stem for p in SUITE_FILES])
def test_each_suite_loads_exactly_the_expectations_it_lists(path: Path) -> None:
    listed = json.loads(path.read_text(encoding="utf-8"))["expectations"]
    suite = gates.build_gx_suite(gates.load_suite_spec(path.stem))
    assert len(suite.expectations) == len(listed)


def test_a_misspelt_expectation_is_refused_not_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = json.loads(gates.suite_path("county.towns").read_text(encoding="utf-8"))
    document["expectations"][1]["type"] = "expect_column_values_to_be_uniqe"
    (tmp_path / "county.towns.json").write_text(json.dumps(document), encoding="utf-8")
    monkeypatch.setattr(gates, "SUITES_DIR", tmp_path)
    with pytest.raises(ConfigurationError, match="expect_column_values_to_be_uniqe"):
        gates.build_gx_suite(gates.load_suite_spec("county.towns"))


def test_the_synthetic_county_passes_every_county_gate(county_engine: Engine) -> None:
    for suite in ("county.towns", "county.staff", "county.clients"):
        outcome = gates.run_gate_on_table(county_engine, suite, run_key="t")
        assert outcome.success and outcome.rows_failed == 0, outcome.failed_rules
    with Session(county_engine) as session:
        results = session.scalars(select(GateResult)).all()
    assert sorted(r.suite for r in results) == ["county.clients", "county.staff", "county.towns"]
    assert all(r.success and r.expectations_evaluated > 0 for r in results)


def _break_clients(engine: Engine, codes: list[str]) -> None:
    with Session(engine) as session, session.begin():
        session.execute(
            update(Client).where(Client.code.in_(codes)).values(latitude=None, longitude=None)
        )


def test_bad_rows_are_quarantined_with_their_rule(county_engine: Engine) -> None:
    _break_clients(county_engine, ["C0000003", "C0000007"])
    outcome = gates.run_gate_on_table(county_engine, "county.clients")
    assert outcome.success  # 2 of 450 is within the suite's tolerance
    assert outcome.quarantined == {
        "C0000003": ["every client has home coordinates"],
        "C0000007": ["every client has home coordinates"],
    }
    gates.run_gate_on_table(county_engine, "county.clients")  # again: no duplicate quarantine
    with Session(county_engine) as session:
        rows = session.execute(select(QuarantinedRow.row_key, QuarantinedRow.rule)).all()
    assert sorted(rows) == [
        ("C0000003", "every client has home coordinates"),
        ("C0000007", "every client has home coordinates"),
    ]


def test_a_failing_batch_raises_one_clear_error_and_keeps_its_record(county_engine: Engine) -> None:
    with Session(county_engine) as session:
        codes = list(session.scalars(select(Client.code).limit(60)))
    _break_clients(county_engine, codes)
    with pytest.raises(GateFailure) as caught:
        gates.run_gate_on_table(county_engine, "county.clients")
    message = str(caught.value)
    assert "county" in message and "60 of 450 rows" in message
    assert "every client has home coordinates" in message
    with Session(county_engine) as session:
        result = session.scalars(select(GateResult)).one()
    assert not result.success and result.rows_failed == 60


def test_staff_without_skills_or_hours_are_caught(county_engine: Engine) -> None:
    with Session(county_engine) as session, session.begin():
        session.execute(update(Staff).where(Staff.code == "S0002").values(skills=[]))
    outcome = gates.run_gate_on_table(county_engine, "county.staff", raise_on_failure=False)
    assert outcome.quarantined == {"S0002": ["staff have at least one known skill"]}
    frame = gates.read_source(county_engine, gates.load_suite_spec("county.staff"))
    frame.loc[frame.code == "S0003", "work_end"] = None
    outcome = gates.run_gate_on_rows(county_engine, "county.staff", frame, raise_on_failure=False)
    assert "staff have working hours (end)" in outcome.quarantined["S0003"]


def test_a_table_level_rule_fails_the_whole_batch(engine: Engine) -> None:
    with pytest.raises(GateFailure, match="the county has at least one town"):
        gates.run_gate_on_table(engine, "county.towns")


def test_personal_columns_never_enter_a_gate(engine: Engine) -> None:
    frame = pd.DataFrame({"code": ["C1"], "name": ["김순자"]})
    with pytest.raises(PrivacyError):
        gates.run_gate_on_rows(engine, "county.clients", frame)
    with Session(engine) as session:
        assert session.scalars(select(GateResult)).all() == []


def test_gate_results_hold_counts_and_rules_never_values(county_engine: Engine) -> None:
    _break_clients(county_engine, ["C0000011"])
    gates.run_gate_on_table(county_engine, "county.clients")
    with Session(county_engine) as session:
        result = session.scalars(select(GateResult)).one()
    assert set(result.failed_expectations[0]) == {
        "rule",
        "expectation",
        "column",
        "unexpected_count",
        "error",
    }
