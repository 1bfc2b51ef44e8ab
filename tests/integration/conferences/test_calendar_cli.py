"""``python -m care_models conferences calendar`` on the county's own towns and closure days."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from care_models.cli import main
from care_models.schema import ClosureDay, Town


@pytest.fixture
def towns(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with Session(engine) as session, session.begin():
        session.add_all(
            [
                Town(code="JC-01", name="진천읍", kind="eup", latitude=36.85, longitude=127.43),
                Town(
                    code="JC-02",
                    name="덕산읍",
                    kind="eup",
                    latitude=36.89,
                    longitude=127.53,
                    conference_weekday=3,
                    conference_time=dt.time(9, 30),
                ),
            ]
        )
        session.add(ClosureDay(day=dt.date(2026, 12, 8), reason="군 창립기념일"))
    monkeypatch.setenv("CARE_DATABASE_URL", database_url)


def test_lists_both_tiers_with_moves(towns: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["conferences", "calendar", "--from", "2026-12-07", "--to", "2026-12-13", "--json"])
        == 0
    )
    listed = json.loads(capsys.readouterr().out)
    assert [(c["tier"], c["town"], c["date"], c["start"]) for c in listed] == [
        (1, "JC-01", "2026-12-09", "10:00"),  # default Tuesday, moved by the closure day
        (1, "JC-02", "2026-12-10", "09:30"),  # the town's own Thursday 09:30
        (2, None, "2026-12-10", "14:00"),
    ]
    assert listed[0]["moved_from"] == "2026-12-08"
    assert main(["conferences", "calendar", "--from", "2026-12-07", "--to", "2026-12-13"]) == 0
    out = capsys.readouterr().out
    assert "moved from 2026-12-08: 군 휴무일: 군 창립기념일" in out
    assert out.strip().endswith("3 conferences, 1 moved to the next business day")


def test_filters_and_refusals(
    towns: None, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["conferences", "calendar", "--from", "2026-01-01", "--to", "2027-12-31", "--json"]
    assert main([*args, "--tier", "2"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 48
    assert main([*args, "--town", "JC-02"]) == 0
    assert {c["town"] for c in json.loads(capsys.readouterr().out)} == {"JC-02"}
    assert main([*args, "--town", "XX-99"]) == 2
    assert "--town" in capsys.readouterr().err
    with Session(engine) as session, session.begin():  # a town changes its weekday
        session.execute(update(Town).where(Town.code == "JC-01").values(conference_weekday=0))
    assert main([*args, "--town", "JC-01", "--tier", "1"]) == 0
    assert {
        dt.date.fromisoformat(c["moved_from"] or c["date"]).weekday()
        for c in json.loads(capsys.readouterr().out)
    } == {0}


@pytest.mark.parametrize(
    ("weekday", "time", "rule"),
    [
        (None, dt.time(15), "conference_weekday: a town with its own time needs its weekday"),
        (6, None, "conference_weekday: must be Monday to Friday"),
    ],
)
def test_a_town_with_a_broken_conference_rule_is_named(
    engine: Engine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    weekday: int | None,
    time: dt.time | None,
    rule: str,
) -> None:
    from sqlalchemy.orm import Session

    from care_models.cli import main
    from care_models.schema import Town

    with Session(engine) as session, session.begin():
        session.add(
            Town(
                code="JC-09",
                name="시험면",
                kind="myeon",
                latitude=36.8,
                longitude=127.4,
                conference_weekday=weekday,
                conference_time=time,
            )
        )
    monkeypatch.setenv("CARE_DATABASE_URL", database_url)
    assert main(["conferences", "calendar", "--from", "2026-12-01", "--to", "2026-12-31"]) == 2
    error = capsys.readouterr().err
    assert "town JC-09" in error and rule in error
