"""Intake's bulk inserts: every row in, None values kept, ids in row order, both databases.

On PostgreSQL ``insert_returning_ids`` draws the ids from the table's sequence and
inserts them itself; on SQLite it uses ``INSERT ... RETURNING``. Either way the ids
must come back in the order of the rows, follow the ids already there, and leave the
sequence ready for an ordinary insert afterwards.
"""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from care_models.referrals.store_rows import insert_returning_ids, insert_rows
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
