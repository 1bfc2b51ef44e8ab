"""The demo's operations: the visits already made this period, and the care deadlines
as the watchdog sees them."""

from __future__ import annotations

from collections import Counter

from sqlalchemy.orm import Session

from care_models.config import Settings
from care_models.db import engine_from_settings, session_factory, transaction
from care_models.deadlines import RULES, check_deadlines
from care_models.synthetic.visit_history import record_visit_history
from care_models.tokens import utcnow
from care_models.workdays import seoul_today


def visit_history(settings: Settings) -> None:
    """The routine contacts the coordinators made before today in the current windows."""
    engine = engine_from_settings(settings)
    try:
        with transaction(session_factory(engine)) as session:
            added = record_visit_history(session, seoul_today(), settings.synthetic_seed)
    finally:
        engine.dispose()
    print(
        f"==> visits and calls already made in the current due windows, as coordinators "
        f"record them: {added}" + ("" if added else " (already there)")
    )


def print_deadlines(settings: Settings) -> None:
    engine = engine_from_settings(settings)
    try:
        with Session(engine) as session:
            breaches = check_deadlines(session, utcnow())
    finally:
        engine.dispose()
    counts = Counter((b.rule, b.state) for b in breaches)
    print("==> care deadlines (care_deadlines watchdog; overdue / late in the last 30 days)")
    for code, rule in RULES.items():
        print(
            f"    {rule.text}: {counts[(code, 'overdue')]} overdue, {counts[(code, 'late')]} "
            f"late  [{rule.source}]"
        )
