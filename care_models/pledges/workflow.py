"""The pledge workflow's steps (``pledge_reports``), each one call from a task.

1. :func:`load_shipped_cards`: the cards shipped in ``care_models/pledges/cards/`` and
   any in ``CARE_VAR_DIR/pledges/`` (a department's new version), idempotently;
2. :func:`compute_year`: the year's actuals from the care data;
3. :func:`publish_year`: the report's HTML, PDF and CSVs;
4. :func:`publish_month`: the monthly progress report (the year to date).

:func:`compute_runs` and :func:`publish_runs` do 2-4 for what a run's day reports
(:func:`care_models.pledges.schedule.runs_for`): a monthly run the year to date and
its progress report, a yearly run (after 10 January) the previous year.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.orm import Session

from care_models.pledges.actuals import compute_actuals
from care_models.pledges.cards import shipped_cards
from care_models.pledges.consistency import consistency
from care_models.pledges.documents import write_monthly, write_report
from care_models.pledges.progress import monthly_progress
from care_models.pledges.report import pledge_report
from care_models.pledges.schedule import runs_for
from care_models.pledges.store import load_cards


def load_shipped_cards(
    session: Session, extra_dir: Path | None, now: dt.datetime
) -> dict[str, object]:
    paths = list(shipped_cards())
    if extra_dir is not None and extra_dir.is_dir():
        paths += sorted(extra_dir.glob("*.json"))
    loaded = load_cards(session, paths, actor="pledge_reports", now=now)
    return {
        "cards": len(loaded),
        "new_versions": [f"{c.program_code} v{c.version}" for c in loaded if c.changed],
        "warnings": sum(len(c.warnings) for c in loaded),
    }


def compute_year(session: Session, year: int, now: dt.datetime) -> dict[str, object]:
    rows = compute_actuals(session, year, now=now)
    return {
        "year": year,
        "computed": sum(1 for r in rows if r.actual is not None and r.skipped is None),
        "flagged": sum(1 for r in rows if r.flag),
        "not_computed": sum(1 for r in rows if r.actual is None),
    }


def publish_year(session: Session, year: int, out_dir: Path) -> dict[str, object]:
    report = pledge_report(session, year)
    agreement, _changes = consistency(session)
    files = write_report(report, agreement, out_dir)
    return {
        "year": year,
        "completion_rate": str(report.completion_rate),
        "target_rate": str(report.target_rate),
        "consistency": str(agreement),
        "files": [str(f) for f in files],
    }


def publish_month(
    session: Session, year: int, through: dt.date, out_dir: Path
) -> dict[str, object]:
    progress = monthly_progress(session, year, through)
    files = write_monthly(progress, out_dir)
    return {
        "year": year,
        "through": progress.last_day.isoformat(),
        "indicators": len(progress.lines),
        "behind": [f"{line.program} {line.code}" for line in progress.behind],
        "files": [str(f) for f in files],
    }


def compute_runs(session: Session, day: dt.date, now: dt.datetime) -> dict[str, object]:
    years = sorted({run.year for run in runs_for(day)})
    return {
        "runs": [r.kind for r in runs_for(day)],
        "years": [compute_year(session, y, now) for y in years],
    }


def publish_runs(session: Session, day: dt.date, out_dir: Path) -> dict[str, object]:
    published: list[dict[str, object]] = []
    for year in sorted({run.year for run in runs_for(day)}):
        published.append(publish_year(session, year, out_dir))
    for run in runs_for(day):
        if run.kind == "monthly":
            through = run.through + dt.timedelta(days=1)
            published.append(publish_month(session, run.year, through, out_dir))
    return {"day": day.isoformat(), "published": published}
