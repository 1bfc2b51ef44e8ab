"""Pledge cards: the shipped files validate, their arithmetic warnings, and bad fields."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from care_models.errors import ValidationError
from care_models.pledges.arithmetic import arithmetic_warnings
from care_models.pledges.cards import (
    CARDS_DIR,
    FORMAT_VERSION,
    load_card,
    parse_card,
    schema,
    shipped_cards,
)

SEED_CARDS = ("geumjeong-000.json", "gimcheon-001.json", "namwon-002.json", "yeoncheon-003.json")
D = Decimal

# Every disagreement found in the seed cards' own arithmetic, with both numbers.
SEED_WARNINGS: dict[str, list[str]] = {
    "geumjeong-000.json": [],
    "gimcheon-001.json": [],
    "namwon-002.json": [
        "budget table 1 (1인가구 안부요구르트 배달사업 확대), row 시비, 합계: "
        "262 ≠ 기투자 (~ '22) 142 + 소계 60 = 202",
        "budget table 2 (인공지능(AI) 1인가구 안부살핌서비스 확대), row 시비, 소계: "
        "96 ≠ '23 18 + '24 21 + '25 26 = 65",
        "budget table 2 (인공지능(AI) 1인가구 안부살핌서비스 확대), row 시비, 합계: "
        "115 ≠ 기투자 ('19~'22) 19 + 소계 96 + '27 이후 31 = 146",
    ],
    "yeoncheon-003.json": [
        "indicator middle_aged_single_support (중장년 1인가구 맞춤형지원), overall target: "
        "380 ≠ 2024 180 + 2025 190 + 2026 200 = 570",
        "indicator middle_aged_single_support (중장년 1인가구 맞춤형지원), overall target in "
        "연차별 추진목표: 30 ≠ 2024 180 + 2025 190 + 2026 200 = 570",
    ],
}


def _document(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((CARDS_DIR / name).read_text(encoding="utf-8"))
    return loaded


def _refused(document: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        parse_card(json.dumps(document, ensure_ascii=False), record="bad.json")
    return caught.value


def test_the_schema_is_draft_2020_12_and_names_its_format_and_version() -> None:
    card_schema = schema()
    Draft202012Validator.check_schema(card_schema)
    assert card_schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert card_schema["$id"] == f"urn:integrated-care:pledge-card:{FORMAT_VERSION}"
    assert card_schema["properties"]["format_version"]["const"] == FORMAT_VERSION


def test_the_five_cards_are_shipped() -> None:
    assert sorted(p.name for p in shipped_cards()) == sorted([*SEED_CARDS, "jincheon-care.json"])


@pytest.mark.parametrize("path", shipped_cards(), ids=lambda p: Path(p).name)
def test_every_shipped_card_validates(path: Path) -> None:
    card = load_card(path)
    assert card.format_version == FORMAT_VERSION
    for indicator in card.indicators:
        assert (indicator.query is None) == indicator.reported


@pytest.mark.parametrize("name", SEED_CARDS)
def test_each_seed_card_warns_of_exactly_its_disagreements(name: str) -> None:
    assert arithmetic_warnings(load_card(CARDS_DIR / name)) == SEED_WARNINGS[name]


def test_the_seed_cards_actuals_are_reported_not_computed() -> None:
    for name in SEED_CARDS:
        assert all(i.reported for i in load_card(CARDS_DIR / name).indicators)


def test_gimcheon_budget_loads_as_printed() -> None:
    card = load_card(CARDS_DIR / "gimcheon-001.json")
    budget = card.budget
    assert budget.total is not None
    assert budget.total.amount == 31
    assert dict(budget.total.by_source) == {"national": 11, "provincial": 10, "local": 10}
    (table,) = budget.tables
    assert table.total_row is not None
    assert table.total_row.total == 31
    assert table.total_row.term_subtotal == 20
    assert dict(table.total_row.amounts) == {"prior": 7, "2025": 12, "2026H1": 8, "2026H2+": 4}
    by_source = {row.source: (row.label, row.total) for row in table.rows}
    assert by_source == {
        "national": ("국비", 11),
        "provincial": ("도비", 10),
        "local": ("시비", 10),
    }
    roles = {p.code: p.role for p in card.periods}
    assert (roles["prior"], roles["2025"], roles["2026H1"], roles["2026H2+"]) == (
        "prior",
        "term",
        "term",
        "after",
    )
    assert card.progress is not None and card.progress.stated == 70
    surveys = card.indicator("blind_spot_surveys")
    assert surveys.overall_target == 6400
    assert dict(surveys.targets) == {"2025": 3200, "2026H1": 1400, "2026H2+": 1800}
    plugs = card.indicator("smart_plugs_installed")
    assert plugs.overall_target == 60
    assert dict(plugs.targets) == {"2025": 30, "2026H1": 30}
    assert [(s.role, s.name) for s in card.staff] == [
        ("과장", "임재춘"),
        ("팀장", "정수미"),
        ("담당자", "김유성"),
    ]


def test_geumjeong_budget_and_progress_load_as_printed() -> None:
    card = load_card(CARDS_DIR / "geumjeong-000.json")
    assert card.budget.total is not None
    assert dict(card.budget.total.by_source) == {
        "national": 375,
        "provincial": 185,
        "local": 179,
        "other": 10,
    }
    assert card.budget.total.amount == 749
    assert card.status is None and card.as_printed["status"] == "추진중"
    assert card.progress is not None
    assert dict(card.progress.by_period) == {"2024": 20, "2025": 70, "2026": 100}
    other = next(r for r in card.budget.tables[0].rows if r.source == "other")
    assert other.amounts["2024"] == 0  # printed '-'
    assert card.indicator("crisis_app_subscribers").aggregation == "level"


def test_namwon_budget_total_and_its_indicators() -> None:
    card = load_card(CARDS_DIR / "namwon-002.json")
    assert card.budget.total is not None
    assert card.budget.total.amount == 985
    assert dict(card.budget.total.by_source) == {"national": 300, "local": 685}
    cases = card.indicator("case_management_and_support")
    assert cases.overall_target == 24128
    assert cases.targets["2022"] == 4128
    assert card.indicator("yogurt_delivery_households").targets["2024"] is None  # printed '-'


def test_yeoncheon_reports_its_2024_actual_and_progress() -> None:
    card = load_card(CARDS_DIR / "yeoncheon-003.json")
    assert card.status == "정상추진"
    assert card.progress is not None and card.progress.stated == 50
    assert card.reported_as_of == "2024-10-15"
    support = card.indicator("middle_aged_single_support")
    assert support.targets["2024"] == 180
    assert support.actuals["2024"] == 188
    assert support.achievement_printed["2024"] == 104
    assert support.target_notes["2023"] == "조례제정 전수조사"
    local = next(r for r in card.budget.tables[0].rows if r.source == "local")
    assert (local.amounts["2024"], local.amounts["2025"], local.amounts["2026"]) == (12, 29, 29)
    assert local.notes["2027+"] == "지속추진"


def test_the_county_card_has_the_figures_the_synthetic_county_loads() -> None:
    card = load_card(CARDS_DIR / "jincheon-care.json")
    assert arithmetic_warnings(card) == []
    assert (card.program_code, card.municipality, card.department) == (
        "JC-CARE-2026",
        "진천군",
        "통합돌봄팀",
    )
    assert (card.term_start, card.term_end) == ("2025", "2027")
    settled = card.indicator("discharge_settled")
    assert settled.overall_target == 240
    assert dict(settled.targets) == {"2025": 70, "2026": 80, "2027": 90}
    assert settled.query == "pledges/count_settled_discharges"
    (table,) = card.budget.tables
    assert {r.source: dict(r.amounts) for r in table.rows} == {
        "national": {"2026": 120},
        "provincial": {"2026": 36},
        "local": {"2026": 84},
    }
    queries = {i.query for i in card.indicators if i.query}
    assert {
        "pledges/count_kept_out_of_high_cost_care",
        "pledges/rate_conference_decisions",
        "pledges/count_households_monitored",
        "pledges/count_incidents_handled",
        "pledges/count_case_management",
    } <= queries
    assert any(i.reported for i in card.indicators)
    baseline = card.indicator("kept_out_of_high_cost_care").baseline
    assert baseline is not None
    assert (baseline.numerator, baseline.denominator, baseline.value) == (385, 425, D("90.6"))


# ------------------------------------------------------------------ refused


def test_an_unknown_status_is_refused_without_echoing_it() -> None:
    document = _document("yeoncheon-003.json")
    document["status"] = "status-xyz-unknown"
    error = _refused(document)
    assert error.field == "$.status"
    assert error.rule.startswith("must be one of: 완료, 이행 후 계속추진, 정상추진, 일부추진")
    assert "status-xyz-unknown" not in str(error)
    assert "bad.json" in str(error)


def test_a_negative_target_is_refused_without_echoing_it() -> None:
    document = _document("gimcheon-001.json")
    document["indicators"][0]["targets"]["2025"] = -4321
    error = _refused(document)
    assert error.field == "$.indicators[0].targets['2025']"
    assert error.rule == "must be >= 0"
    assert "4321" not in str(error)


def test_a_missing_program_code_is_refused() -> None:
    document = _document("namwon-002.json")
    del document["program_code"]
    error = _refused(document)
    assert (error.field, error.rule) == ("$.program_code", "required property is missing")


def test_an_unknown_funding_source_is_refused() -> None:
    document = _document("gimcheon-001.json")
    document["budget"]["tables"][0]["rows"][2]["source"] = "city-xyz"
    error = _refused(document)
    assert error.field == "$.budget.tables[0].rows[2].source"
    assert error.rule == "must be one of: national, provincial, local, other"
    assert "city-xyz" not in str(error)


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        (
            lambda d: d["indicators"][1].update(code="blind_spot_surveys"),
            "$.indicators[1].code",
            "an indicator code is used once per card",
        ),
        (
            lambda d: d["indicators"][0]["targets"].update({"2031": 5}),
            "$.indicators[0].targets['2031']",
            "a period must be declared in $.periods",
        ),
        (
            lambda d: d["budget"]["tables"][0]["rows"][0]["amounts"].update({"2026": 1}),
            "$.budget.tables[0].rows[0].amounts['2026']",
            "a period must be a column of its table",
        ),
        (
            lambda d: d["indicators"][0].update(query="pledges/count_case_management"),
            "$.indicators[0]",
            "must match exactly one alternative",
        ),
        (
            lambda d: d["indicators"][0]["targets"].update({"next year": 5}),
            "$.indicators[0].targets",
            "property names must match the pattern",
        ),
        (lambda d: d.update(format_version=2), "$.format_version", "must be 1"),
        (
            lambda d: (
                d["indicators"][0].pop("reported"),
                d["indicators"][0].update(query="pledges/count_unicorns"),
            ),
            "$.indicators[0].query",
            "must name a query file under sql/",
        ),
    ],
)
def test_other_broken_rules_name_the_path_and_the_rule(change: Any, field: str, rule: str) -> None:
    document = _document("gimcheon-001.json")
    change(document)
    error = _refused(document)
    assert error.field == field
    assert error.rule.startswith(rule)


def test_a_repeated_key_and_broken_json_are_refused() -> None:
    with pytest.raises(ValidationError, match="appears twice"):
        parse_card('{"format": "pledge-card", "format": "pledge-card"}')
    with pytest.raises(ValidationError, match="not valid JSON"):
        parse_card('{"format": ')


# ------------------------------------------------------------------ arithmetic


def test_a_changed_total_is_a_warning_with_both_numbers_and_the_card_is_kept() -> None:
    document = copy.deepcopy(_document("gimcheon-001.json"))
    document["budget"]["tables"][0]["rows"][0]["amounts"]["2025"] = 5  # 국비 2025: 3 -> 5
    document["indicators"][1]["targets"]["2025"] = 40
    card = parse_card(json.dumps(document, ensure_ascii=False))
    assert arithmetic_warnings(card) == [
        "budget table 1 (연도별 사업비 투자실적 및 계획), row 국비, 임기 소계: "
        "6 ≠ 2025 5 + 2026 상반기 3 = 8",
        "budget table 1 (연도별 사업비 투자실적 및 계획), row 계 across sources, 2025: "
        "12 ≠ 국비 5 + 도비 4 + 시비 5 = 14",
        "indicator smart_plugs_installed (스마트플러그 설치), overall target: "
        "60 ≠ 2025 40 + 2026 상반기 30 = 70",
    ]


def test_a_printed_achievement_is_checked_against_actual_over_target() -> None:
    document = _document("yeoncheon-003.json")
    document["indicators"][0]["achievement_printed"]["2024"] = 110
    card = parse_card(json.dumps(document, ensure_ascii=False))
    assert arithmetic_warnings(card)[-1] == (
        "indicator middle_aged_single_support (중장년 1인가구 맞춤형지원), achievement 2024: "
        "110% ≠ actual 188 / target 180 = 104%"
    )


def test_a_level_indicator_is_not_summed() -> None:
    card = load_card(CARDS_DIR / "geumjeong-000.json")
    document = _document("geumjeong-000.json")
    document["indicators"][0]["overall_target"] = 400  # 300, 400, 400 as levels
    assert arithmetic_warnings(parse_card(json.dumps(document, ensure_ascii=False))) == []
    assert arithmetic_warnings(card) == []
