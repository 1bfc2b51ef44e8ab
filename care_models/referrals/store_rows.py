"""Insert many rows at once, fast on PostgreSQL as on SQLite.

Why not ORM objects, or one multi-row ``INSERT ... RETURNING``: SQLAlchemy sends
those to PostgreSQL as one long statement per batch (its "insertmanyvalues"), which
psycopg parses anew every time (it caches only short statements), at about a
millisecond a referral. Without RETURNING, an executemany of one short statement is
prepared once and sent in psycopg's pipeline mode. The rows and their ids are the
same either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.orm import Session

from care_models.schema import Base


def insert_rows(session: Session, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows (same keys each) as one executemany, without RETURNING (see above).

    A Core insert of the table, not the ORM's bulk insert: that leaves out the None
    values of each row and splits the rows wherever the columns left out change (a
    client with a phone, one without), into hundreds of small statements.
    """
    if rows:
        session.execute(insert(_table(model)), list(rows))


def insert_returning_ids(
    session: Session, model: type[Base], rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert rows (same keys each); their new ids, in row order.

    PostgreSQL: the ids are drawn from the table's sequence first (one query), and the
    rows inserted with them by :func:`insert_rows`; an ``INSERT ... RETURNING`` of many
    rows would be the long statement psycopg parses anew. Elsewhere (SQLite), one
    ``INSERT ... RETURNING``.
    """
    if not rows:
        return []
    if session.get_bind().dialect.name != "postgresql":
        table = _table(model)
        returning = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.scalars(returning, list(rows)))
    ids = sorted(
        session.scalars(
            text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            ),
            {"table": model.__tablename__, "n": len(rows)},
        )
    )
    insert_rows(session, model, [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
    return ids


def _table(model: type[Base]) -> Table:
    return model.metadata.tables[model.__tablename__]
