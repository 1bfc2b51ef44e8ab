"""Pledge cards into the database: idempotent, a changed card a new version, history kept."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.pledges.cards import shipped_cards
from care_models.pledges.store import card_versions, load_cards
from care_models.schema import (
    Budget,
    IndicatorActual,
    IndicatorTarget,
    PledgeIndicator,
    PledgeProgram,
)

NOW = dt.datetime(2026, 12, 4, tzinfo=dt.UTC)


def test_the_shipped_cards_load_once_and_a_changed_card_is_a_new_version(
    engine: Engine, tmp_path: Path
) -> None:
    cards = shipped_cards()
    with Session(engine) as session, session.begin():
        first = load_cards(session, cards, actor="test", now=NOW)
        again = load_cards(session, cards, actor="test", now=NOW)
    assert [c.changed for c in first] == [True] * len(cards) and not any(c.changed for c in again)
    warned = {c.program_code: c.warnings for c in first}
    assert len(warned["NAMWON-5-6"]) == 3 and warned["GIMCHEON-8-8"] == []
    assert any("380" in w and "570" in w for w in warned["YEONCHEON-2-6"])  # both numbers
    with Session(engine) as session:
        gimcheon = session.scalar(select(PledgeProgram).where(PledgeProgram.code == "GIMCHEON-8-8"))
        assert gimcheon is not None and gimcheon.stated_progress == Decimal("70")
        budget = {
            (b.funding_source, b.period): b.planned
            for b in session.scalars(select(Budget).where(Budget.program_id == gimcheon.id))
        }
        assert budget[("national", "prior")] == 4 and budget[("national", "2025")] == 3
        assert sum(budget.values()) == 31  # 국비 11 + 도비 10 + 시비 10
        yeoncheon = session.scalar(
            select(IndicatorActual.actual)
            .join(PledgeIndicator, PledgeIndicator.id == IndicatorActual.indicator_id)
            .where(
                PledgeIndicator.code == "middle_aged_single_support",
                IndicatorActual.period == "2024",
            )
        )
        assert yeoncheon == 188  # the card's reported actual
    # a department raises a target: version 2, the first version kept whole
    changed = json.loads(cards[1].read_text(encoding="utf-8"))
    changed["indicators"][0]["targets"]["2025"] = 3300
    path = tmp_path / cards[1].name
    path.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    with Session(engine) as session, session.begin():
        (loaded,) = load_cards(session, [path], actor="test", now=NOW)
        assert loaded.changed and loaded.version == 2
        assert card_versions(session, "GIMCHEON-8-8") == 2
        target = session.scalar(
            select(IndicatorTarget.target)
            .join(PledgeIndicator, PledgeIndicator.id == IndicatorTarget.indicator_id)
            .where(
                PledgeIndicator.code == changed["indicators"][0]["code"],
                IndicatorTarget.period == "2025",
            )
        )
        assert target == 3300
        from care_models.pledges.consistency import card_changes, consistency

        changes = card_changes(session, "GIMCHEON-8-8")
        assert changes is not None and changes.changes == [
            f"indicator {changed['indicators'][0]['code']}, target 2025: 3200 -> 3300"
        ]
        agreement, _ = consistency(session)
        assert agreement == Decimal("80.0")  # 4 of the 5 programs as first published


def test_a_bad_card_is_refused_naming_the_path_and_nothing_is_loaded(
    engine: Engine, tmp_path: Path
) -> None:
    from care_models.errors import ValidationError

    document = json.loads(shipped_cards()[1].read_text(encoding="utf-8"))
    document["status"] = "대충추진"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    with Session(engine) as session:
        with pytest.raises(ValidationError, match=r"\$\.status") as refused, session.begin():
            load_cards(session, [shipped_cards()[0], path], actor="test", now=NOW)
        assert "대충추진" not in str(refused.value)
        assert session.scalar(select(PledgeProgram.id)) is None  # the good card was not kept either
