"""``python -m care_models conferences history|measures``: the command-line side.

- ``history --from D --to D``: the synthetic county's conferences over those days, by
  the real code (:mod:`care_models.synthetic.conference_history`); development only,
  and only on a database the seed marked synthetic.
- ``measures --from D --to D [--json]``: the measures of ``sql/conferences/``: needs,
  decisions and the decision rate per category, linkages per target group,
  conferences held, moved and cancelled, attendance per discipline.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json

from care_models.config import Settings
from care_models.db import engine_from_settings, session_factory, transaction
from care_models.errors import ConfigurationError, ValidationError
from care_models.rendering.labels import NEED_CATEGORY_LABELS
from care_models.schema import DatabaseMark

SYNTHETIC_MARK = "synthetic_county"


def history(settings: Settings, args: argparse.Namespace) -> int:
    from care_models.synthetic.conference_history import simulate_conferences

    if settings.production:
        raise ConfigurationError(
            "CARE_MODE", "history makes synthetic decisions: refused in production"
        )
    engine = engine_from_settings(settings)
    with transaction(session_factory(engine)) as session:
        if session.get(DatabaseMark, SYNTHETIC_MARK) is None:
            raise ValidationError("database", "was not seeded with the synthetic county: refused")
        made = simulate_conferences(session, args.start, args.end)
    if args.json:
        print(json.dumps(made.as_dict(), ensure_ascii=False, indent=2))
        return 0
    print(
        f"conferences {args.start}..{args.end}: {made.conferences_held} held, {made.items} agenda "
        f"items, {made.decisions} decisions, {made.new_cases} new cases from intake"
    )
    return 0


def measures(settings: Settings, args: argparse.Namespace) -> int:
    from care_models.conferences.measures import conference_measures

    end = args.end + dt.timedelta(days=1)  # the command's --to is inclusive
    engine = engine_from_settings(settings)
    with session_factory(engine)() as session:
        figures = conference_measures(session, args.start, end)
    if args.json:
        print(
            json.dumps(
                dataclasses.asdict(figures) | {"decision_rate": figures.decision_rate},
                ensure_ascii=False,
                indent=2,
                default=str,
            )
        )
        return 0
    print(f"conferences {args.start}..{args.end}")
    rate = figures.decision_rate
    print(f"  needs {figures.needs}, decided {figures.decided}, decision rate {rate}%")
    for category, row in figures.by_category.items():
        label = NEED_CATEGORY_LABELS.get(category, category)
        print(
            f"    {label:<8} needs {row['needs']:>5}  decided {row['decided']:>5}  {row['rate']}%"
        )
    for row in figures.conferences:
        held, moved, cancelled = row["held"], row["moved"], row["cancelled"]
        print(f"  tier {row['tier']}: held {held}, moved {moved}, cancelled {cancelled}")
    for row in figures.linkages:
        group, people, linkages = row["target_group"], row["people"], row["linkages"]
        print(f"  linked: {group:<20} {people} people, {linkages} linkages")
    for row in figures.attendance:
        print(f"  attendance {row['discipline']:<16} {row['attended']}/{row['seats']}")
    return 0
