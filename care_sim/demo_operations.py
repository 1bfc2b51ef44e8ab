"""The demo's operations summary: the care deadlines as the watchdog sees them."""

from __future__ import annotations

from collections import Counter

from sqlalchemy.orm import Session

from care_models.config import Settings
from care_models.db import engine_from_settings
from care_models.deadlines import RULES, check_deadlines
from care_models.tokens import utcnow


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
