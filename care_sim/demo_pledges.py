"""The demo's pledge story: five years of history, then what ``pledge_reports`` wrote."""

from __future__ import annotations

from sqlalchemy.orm import Session

from care_models.config import Settings
from care_models.db import engine_from_settings
from care_models.pledges.consistency import consistency
from care_models.pledges.documents import pct
from care_models.pledges.report import pledge_report
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
        f"{made.conferences_held} conferences ({made.decisions} decisions), "
        f"{made.readmissions} readmissions, {sum(made.grade_notices.values())} grade notices"
        + (" (made before)" if not made.days else "")
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
    print(f"    report: {folder / 'report.html'} and report.pdf, indicators.csv, budget.csv")
    print("    python -m care_models pledges report --year ...; reported actuals: pledges actual")
