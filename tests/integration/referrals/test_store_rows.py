"""Intake's bulk inserts: every row in, None values kept, ids in row order, both databases.

On PostgreSQL ``insert_returning_ids`` draws the ids from the table's sequence and
inserts them itself; on SQLite it uses ``INSERT ... RETURNING``. Either way the ids
must come back in the order of the rows, follow the ids already there, and leave the
sequence ready for an ordinary insert afterwards. ``committed_together`` sends inserts
and their commit in one round trip on PostgreSQL: all of it is committed, or nothing.
``planned_rows`` keeps a lookup planned on a small table from scanning it once it has
grown.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from care_models.referrals.store_rows import (
    committed_together,
    insert_returning_ids,
    insert_rows,
    planned_rows,
)
from care_models.schema import AuditLog


def rows(first: int, count: int) -> list[dict[str, object]]:
    return [
        {
            "actor": "test",
            "action": "read",
            "entity": "referral",
            "entity_id": None if n % 3 == 0 else str(n),  # None amid values: one statement
            "purpose": f"row {n}",
        }
        for n in range(first, first + count)
    ]


def test_ids_come_back_in_row_order_and_follow_the_table(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.add(AuditLog(actor="test", action="read", entity="referral", purpose="before"))
        session.flush()
        ids = insert_returning_ids(session, AuditLog, rows(1, 7))
        insert_rows(session, AuditLog, rows(8, 4))
        after = AuditLog(actor="test", action="read", entity="referral", purpose="after")
        session.add(after)
        session.flush()
        after_id = after.id
    assert insert_returning_ids(Session(engine), AuditLog, []) == []
    with Session(engine) as session:
        stored = session.execute(
            select(AuditLog.id, AuditLog.purpose, AuditLog.entity_id).order_by(AuditLog.id)
        ).all()
    by_purpose = {purpose: (row_id, entity) for row_id, purpose, entity in stored}
    assert ids == sorted(ids) and len(set(ids)) == 7
    assert ids[0] > by_purpose["before"][0]
    assert [by_purpose[f"row {n}"][0] for n in range(1, 8)] == ids
    assert [by_purpose[f"row {n}"][1] for n in range(1, 12)] == [
        None if n % 3 == 0 else str(n) for n in range(1, 12)
    ]
    assert after_id > max(row_id for row_id, _, _ in stored if row_id != after_id)
    assert len(stored) == 13


def test_committed_together_commits_what_is_inside(engine: Engine) -> None:
    with Session(engine) as session:
        session.scalar(select(AuditLog.id).limit(1))  # a query before, as intake's lookup
        with committed_together(session):
            insert_rows(session, AuditLog, rows(1, 3))
            insert_rows(session, AuditLog, rows(4, 1))  # one row alone: no RETURNING
        # the session goes on afterwards, in a new transaction of its own
        assert session.scalar(select(func.count()).select_from(AuditLog)) == 4
    with Session(engine) as other:  # another connection sees all of it
        stored = other.execute(select(AuditLog.id, AuditLog.purpose).order_by(AuditLog.id)).all()
    assert [purpose for _, purpose in stored] == [f"row {n}" for n in range(1, 5)]


def test_a_failing_statement_inside_commits_nothing_and_is_sqlalchemys_error(
    engine: Engine,
) -> None:
    with Session(engine) as session, session.begin():
        (taken,) = insert_returning_ids(session, AuditLog, rows(1, 1))
    with Session(engine) as session:
        with pytest.raises(IntegrityError), committed_together(session):
            insert_rows(session, AuditLog, rows(2, 2))
            insert_rows(session, AuditLog, [{**rows(4, 1)[0], "id": taken}])  # a taken key
            insert_rows(session, AuditLog, rows(5, 1))
        session.rollback()
        # the connection is fit for the next unit of work
        with committed_together(session):
            insert_rows(session, AuditLog, rows(6, 1))
    with Session(engine) as other:
        purposes = other.scalars(select(AuditLog.purpose).order_by(AuditLog.id)).all()
    assert purposes == ["row 1", "row 6"]


_SEQ_SCANS = text("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'plan_probe'")


def _probe_scans(session: Session, planned: bool) -> int:
    """Sequential scans of plan_probe by one lookup, in a transaction of its own."""
    with session.begin():
        before = session.execute(_SEQ_SCANS).scalar_one()  # counts not yet flushed included
        if planned:
            planned_rows(session, "SELECT v FROM plan_probe WHERE id = %(id)s", {"id": 7})
        else:
            session.execute(text("SELECT v FROM plan_probe WHERE id = :id"), {"id": 7}).one()
        return int(session.execute(_SEQ_SCANS).scalar_one() - before)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_lookup_planned_on_a_small_table_takes_the_index_once_it_has_grown(
    engine: Engine,
) -> None:
    with engine.connect() as connection:
        connection.execute(text("CREATE TABLE plan_probe (id integer PRIMARY KEY, v text)"))
        connection.execute(
            text("INSERT INTO plan_probe SELECT n, 'v' FROM generate_series(1, 9) n")
        )
        connection.execute(text("ANALYZE plan_probe"))  # as a database is, before it grows
        connection.commit()
        try:
            with Session(connection) as session:
                # Sent often enough that psycopg prepares it (the 5th time) and PostgreSQL
                # keeps one plan for any id (5 more): a scan of the table's one page.
                for _ in range(12):
                    assert _probe_scans(session, planned=False) == 1
                with session.begin():
                    session.execute(
                        text(
                            "INSERT INTO plan_probe SELECT n, 'v' FROM generate_series(10, 20000) n"
                        )
                    )
                assert _probe_scans(session, planned=False) == 1  # still the whole table
                assert _probe_scans(session, planned=True) == 0  # the primary key's index
                # The setting was the transaction's only.
                assert _probe_scans(session, planned=False) == 1
        finally:
            connection.rollback()
            connection.execute(text("DROP TABLE plan_probe"))
            connection.commit()
