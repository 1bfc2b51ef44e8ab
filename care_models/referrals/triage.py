"""Triage of discharge referrals with the rules in ``care_models/referrals/rules/triage.json``.

The rules are data, so the county can change thresholds without a release; every
decision carries a reason a coordinator and the hospital can read.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from care_models.errors import ConfigurationError
from care_models.fhir.bundle import ReferralRecord

RULES_FILE = Path(__file__).resolve().parent / "rules" / "triage.json"


@dataclass(frozen=True)
class Triage:
    priority: int
    reason: str


@lru_cache(maxsize=4)
def load_rules(path: Path = RULES_FILE) -> dict[str, Any]:
    try:
        rules = json.loads(path.read_text(encoding="utf-8"))
        for key in ("priority_1", "priority_2", "otherwise"):
            if "reason" not in rules[key]:
                raise KeyError(f"{key}.reason")
    except (OSError, json.JSONDecodeError, KeyError) as exc:
        raise ConfigurationError(f"rules/{path.name}", f"unreadable triage rules: {exc}") from None
    return rules


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def triage(record: ReferralRecord, today: dt.date, rules: dict[str, Any] | None = None) -> Triage:
    rules = rules or load_rules()
    first, second = rules["priority_1"], rules["priority_2"]
    age = age_on(record.person.birth_date, today)
    if (
        record.living_alone is first["living_alone"]
        and age >= first["minimum_age"]
        and set(record.needs) & set(first["needs_any"])
    ):
        return Triage(1, first["reason"])
    if len(record.adl_difficulties) >= second["minimum_adl_difficulties"]:
        return Triage(2, second["reason"])
    return Triage(int(rules["otherwise"]["priority"]), rules["otherwise"]["reason"])
