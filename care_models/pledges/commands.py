"""``python -m care_models pledges load|compute|report|progress|actual|executed``.

- ``load FILE...``: the cards into the database (versions kept, warnings printed);
- ``compute --year Y [--program CODE]``: the year's actuals from the care data;
- ``report --year Y [--program CODE] [--json]``: targets, actuals, achievement, budget
  execution, progress (stated and computed), 완료율 and 목표달성도;
- ``progress --month 2026-11``: the monthly progress report (the year to date against
  the year's targets, the indicators behind), written and printed;
- ``actual --program P --indicator I --period 2026 --value V --by NAME --evidence TEXT``:
  a reported actual;
- ``executed --program P --source national --period 2026 --amount A``: execution.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from decimal import Decimal, InvalidOperation

from sqlalchemy.orm import Session

from care_models.config import Settings
from care_models.db import engine_from_settings, session_factory, transaction
from care_models.errors import ValidationError
from care_models.tokens import utcnow

REQUIRED = {
    "load": ("files",),
    "compute": ("year",),
    "report": ("year",),
    "progress": ("month",),
    "actual": ("program", "indicator", "period", "value", "by", "evidence"),
    "executed": ("program", "source", "period", "amount"),
}


def _number(text: str | None, option: str) -> Decimal:
    try:
        return Decimal(str(text))
    except InvalidOperation:
        raise ValidationError(option, "must be a number") from None


def _progress(session: Session, settings: Settings, args: argparse.Namespace) -> int:
    from care_models.pledges.documents import pct, write_monthly
    from care_models.pledges.progress import monthly_progress

    year, month = args.month
    through = dt.date(year + month // 12, month % 12 + 1, 1)
    progress = monthly_progress(session, year, through)
    files = write_monthly(progress, settings.output_dir)
    behind = len(progress.behind)
    print(f"pledges {year} through {progress.last_day}: {behind} of {len(progress.lines)} behind")
    print("  written: " + ", ".join(str(f) for f in files))
    for line in progress.lines:
        state = "no figure" if line.to_date is None else "BEHIND" if line.behind else "on track"
        print(
            f"  {line.program} {line.code}: {line.to_date} of {line.year_target} {line.unit} "
            f"({pct(line.share)}; expected {line.expected}) {state}"
        )
    return 0


def run(settings: Settings, args: argparse.Namespace) -> int:
    for name in REQUIRED[args.action]:
        if not getattr(args, name):
            raise ValidationError(f"--{name}", f"is required to {args.action}")
    engine = engine_from_settings(settings)
    with transaction(session_factory(engine)) as session:
        if args.action == "load":
            from care_models.pledges.store import load_cards

            loaded = load_cards(session, args.files, actor="cli", now=utcnow())
            if args.json:
                print(json.dumps([item.as_dict() for item in loaded], ensure_ascii=False, indent=2))
                return 0
            for item in loaded:
                state = "new version" if item.changed else "unchanged"
                warned = len(item.warnings)
                print(f"{item.program_code}: version {item.version} ({state}), {warned} warnings")
                for warning in item.warnings:
                    print(f"  warning: {warning}")
            return 0
        if args.action == "compute":
            from care_models.pledges.actuals import compute_actuals

            for computed in compute_actuals(session, args.year, args.program, now=utcnow()):
                shown = (
                    computed.actual if computed.actual is not None else f"- ({computed.skipped})"
                )
                flag = f"  [review: {computed.flag}]" if computed.flag else ""
                where = f"{computed.program:<22} {computed.indicator:<28} {computed.period:<8}"
                print(f"{where} {shown}{flag}")
            return 0
        if args.action == "progress":
            return _progress(session, settings, args)
        if args.action == "actual":
            from care_models.pledges.actuals import report_actual

            entered = report_actual(
                session,
                args.program,
                args.indicator,
                args.period,
                _number(args.value, "--value"),
                entered_by=args.by,
                evidence=args.evidence,
            )
            flag = f" [review: {entered.review_flag}]" if entered.review_flag else ""
            print(
                f"{args.program} {args.indicator} {args.period}: {entered.actual} (reported){flag}"
            )
            return 0
        if args.action == "executed":
            from care_models.pledges.actuals import record_execution

            budget_line = record_execution(
                session, args.program, args.source, args.period, _number(args.amount, "--amount")
            )
            done = f"executed {budget_line.executed} of {budget_line.planned}"
            print(f"{args.program} {args.source} {args.period}: {done}")
            return 0
        from care_models.pledges.consistency import consistency
        from care_models.pledges.report import pledge_report

        report = pledge_report(session, args.year, args.program)
        agreement, changes = consistency(session)
        from care_models.pledges.documents import pct, write_report

        files = write_report(report, agreement, settings.output_dir)
    if args.json:
        document = report.as_dict() | {
            "consistency": agreement,
            "card_changes": {c.program_code: c.changes for c in changes},
        }
        print(json.dumps(document, ensure_ascii=False, indent=2, default=str))
        return 0
    print(
        f"pledges {report.year}: 완료율 {pct(report.completion_rate)}, "
        f"목표달성도 {pct(report.target_rate)}, 일치도 {pct(agreement)}"
    )
    print("  written: " + ", ".join(str(f) for f in files))
    for changed in changes:
        for change in changed.changes:
            print(f"  {changed.program_code} (version {changed.current_version} vs 1): {change}")
    for program in report.programs:
        progress = (
            f"stated {pct(program.stated_progress)}, computed {pct(program.computed_progress)}"
        )
        print(f"{program.code} {program.title} ({program.status or '-'}; progress {progress})")
        for indicator_line in program.indicators:
            achieved = pct(indicator_line.achievement)
            print(
                f"  {indicator_line.name} {indicator_line.period}: target {indicator_line.target}, "
                f"actual {indicator_line.actual} ({indicator_line.source or 'none'}), "
                f"achievement {achieved}"
            )
        for b in program.budget:  # a BudgetLine
            print(
                f"  budget {b.source} {b.period}: planned {b.planned}, executed {b.executed}, "
                f"rate {pct(b.execution_rate)}"
            )
    return 0
