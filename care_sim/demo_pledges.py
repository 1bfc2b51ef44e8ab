"""The demo's pledge story: five years of history, then what ``pledge_reports`` wrote."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from care_models.config import Settings
from care_models.db import engine_from_settings, session_factory, transaction
from care_models.errors import ValidationError
from care_models.pledges.actuals import record_execution, report_actual
from care_models.pledges.cards import shipped_cards
from care_models.pledges.consistency import consistency
from care_models.pledges.documents import ORIGIN_LABELS, SOURCE_LABELS, num, pct
from care_models.pledges.report import pledge_report
from care_models.pledges.store import load_cards
from care_models.tokens import utcnow
from care_models.workdays import seoul_today
from care_sim.history import history_window, run_history

HISTORY_YEARS = 5


def operations_history(settings: Settings) -> None:
    """Five years of the county's operations by the workflows' code, for the pledge
    report to count (a later demo goes on from the last day made)."""
    start, end = history_window(seoul_today(), HISTORY_YEARS)
    made = run_history(settings, HISTORY_YEARS, seoul_today())
    print(
        f"==> {HISTORY_YEARS} years of operations ({start}..{end}) by the workflows' code: "
        f"{made.referrals} referrals ({made.cases_opened} cases opened), "
        f"{made.alerts_stored} device alerts ({made.incidents_opened} incidents), "
        f"{made.conferences_held} conferences ({made.decisions} decisions, "
        f"{made.cases_closed} cases closed), "
        f"{made.readmissions} readmissions, {sum(made.grade_notices.values())} grade notices"
        + (" (made before)" if not made.days else "")
    )


COUNTY_CARD = "JC-CARE-2026"
EXECUTED = {"national": Decimal(112), "provincial": Decimal(33), "local": Decimal(71)}


def enter_what_people_know(settings: Settings) -> None:
    """What the platform cannot know, entered as the team would: the satisfaction
    survey's figure (reported, with who and on what evidence) and finance's execution
    of the year's budget; the cards loaded first, as the workflow loads them."""
    year = seoul_today().year
    engine = engine_from_settings(settings)
    try:
        with transaction(session_factory(engine)) as session:
            load_cards(session, shipped_cards(), actor="demo", now=utcnow())
            try:
                report_actual(
                    session,
                    COUNTY_CARD,
                    "home_life_possible",
                    str(year),
                    Decimal("95.5"),
                    entered_by="통합돌봄팀 주무관",
                    evidence=f"{year} 퇴원환자 만족도 조사 결과 보고",
                )
                for source, amount in EXECUTED.items():
                    record_execution(session, COUNTY_CARD, source, str(year), amount)
            except ValidationError as refused:  # e.g. a demo run after the pledge's term
                print(f"    (nothing entered for {year}: {refused})")
                return
    finally:
        engine.dispose()
    print(
        f"==> entered for {year}: {COUNTY_CARD} home_life_possible 95.5% (reported, with its "
        "evidence); budget executed "
        + ", ".join(f"{SOURCE_LABELS[s]} {a}" for s, a in EXECUTED.items())
        + " (백만원)"
    )


def print_pledges(settings: Settings) -> None:
    year = seoul_today().year
    engine = engine_from_settings(settings)
    try:
        with Session(engine) as session:
            report = pledge_report(session, year)
            agreement, _changes = consistency(session)
    finally:
        engine.dispose()
    folder = settings.output_dir / "pledges" / str(year)
    print(
        f"==> pledges {year}: {len(report.programs)} cards; 완료율 {pct(report.completion_rate)}, "
        f"목표달성도 {pct(report.target_rate)}, 일치도 {pct(agreement)}"
    )
    for program in report.programs:
        computed = sum(1 for line in program.indicators if line.source == "computed")
        print(
            f"    {program.code}: progress stated {pct(program.stated_progress)}, computed "
            f"{pct(program.computed_progress)}; {computed} actuals from the care data"
        )
        if program.code != COUNTY_CARD:
            continue
        for line in program.indicators:
            origin = ORIGIN_LABELS.get(line.source or "", "미입력")
            print(
                f"      {line.name} {line.period}: 목표 {num(line.target)}{line.unit}, "
                f"실적 {num(line.actual)} ({origin}), 달성률 {pct(line.achievement)}"
            )
        for b in program.budget:
            print(
                f"      {SOURCE_LABELS.get(b.source, b.source)} {b.period}: 예산 {num(b.planned)}, "
                f"집행 {num(b.executed)}, 집행률 {pct(b.execution_rate)}"
            )
    print(
        f"    report: {folder / 'report.html'} and report.pdf, report.xlsx, "
        "indicators.csv, budget.csv"
    )
    for monthly in sorted((folder / "monthly").glob("*.html"))[-1:]:
        print(f"    monthly progress: {monthly} (and .csv)")
    print("    python -m care_models pledges report --year ...; reported actuals: pledges actual")
