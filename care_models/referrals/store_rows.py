"""Insert many rows at once, fast on PostgreSQL as on SQLite.

Why not ORM objects, or one multi-row ``INSERT ... RETURNING``: SQLAlchemy sends
those to PostgreSQL as one long statement per batch (its "insertmanyvalues"), which
psycopg parses anew every time (it caches only short statements), at about a
millisecond a referral. Without RETURNING, an executemany of one short statement is
prepared once and sent in psycopg's pipeline mode. The rows and their ids are the
same either way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Table, insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from care_models.schema import Base


def insert_rows(session: Session, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows (same keys each) as one executemany, without RETURNING (see above).

    A Core insert of the table, not the ORM's bulk insert: that leaves out the None
    values of each row and splits the rows wherever the columns left out change (a
    client with a phone, one without), into hundreds of small statements.
    """
    if rows:
        # inline: no RETURNING of the new key, which one row alone would otherwise get
        session.execute(insert(_table(model)).inline(), list(rows))


def insert_returning_ids(
    session: Session,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    drawn: Sequence[int] | None = None,
) -> list[int]:
    """Insert rows (same keys each); their new ids, in row order.

    PostgreSQL: the rows take ids drawn from the table's sequence beforehand, ``drawn``
    (at least one per row; the first ones are used) or else one query here, and are
    inserted by :func:`insert_rows`; an ``INSERT ... RETURNING`` of many rows would be
    the long statement psycopg parses anew. Elsewhere (SQLite), one
    ``INSERT ... RETURNING``, and ``drawn`` is not used.
    """
    if not rows:
        return []
    if session.get_bind().dialect.name != "postgresql":
        table = _table(model)
        returning = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.scalars(returning, list(rows)))
    if drawn is None:
        drawn = sorted(
            session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:table, 'id'))"
                    " FROM generate_series(1, :n)"
                ),
                {"table": model.__tablename__, "n": len(rows)},
            )
        )
    if len(drawn) < len(rows):
        raise ValueError(f"{len(rows)} rows need as many ids, {len(drawn)} were drawn")
    ids = list(drawn[: len(rows)])
    insert_rows(session, model, [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
    return ids


@contextmanager
def committed_together(session: Session) -> Iterator[None]:
    """Run the statements inside, then commit; on PostgreSQL in one round trip.

    psycopg's pipeline mode: the statements and the commit queue up and go to the
    server together, where each would wait for its own answer. Only statements whose
    results are not read belong inside (``insert_rows``; ``insert_returning_ids`` given
    the ids it is to use): SQLAlchemy reads a query's columns as soon as it is sent,
    before a pipeline has any. An error of a queued statement is raised at the commit,
    as SQLAlchemy's error for it (an ``IntegrityError`` for a unique key), and nothing
    is committed.

    The commit is the driver's, inside the pipeline: the session's own commit would
    hand the connection back to the pool before the pipeline is done with it. The
    session's commit after it then only ends its transaction.
    """
    connection = session.connection()
    driver = connection.connection.driver_connection
    if isinstance(driver, psycopg.Connection):
        try:
            with driver.pipeline():
                yield
                driver.commit()
        except psycopg.Error as error:
            raise DBAPIError.instance(
                None, None, error, psycopg.Error, hide_parameters=True
            ) from error
    else:
        yield
    session.commit()


def planned_rows(session: Session, query: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
    """PostgreSQL: the rows of ``query`` (psycopg's placeholders), the rest of the
    transaction planned for the values it is sent with; one round trip with its BEGIN.

    psycopg prepares a statement it has sent five times, and PostgreSQL may then keep
    one plan for any values (so do the foreign keys' checks) until the table's
    statistics change. Plans made while a table was small stay sequential scans as it
    grows, if autovacuum's ANALYZE is off or far behind: storing ``bench/intake.py``'s
    10,000 referrals read 50 million rows, and PostgreSQL's CPU per referral more than
    doubled. ``SET LOCAL plan_cache_mode`` has every statement of the transaction
    planned for its values: the lookups and the checks take the indexes.

    The setting, the query and the transaction's BEGIN go in one pipeline, through the
    driver's cursor: through SQLAlchemy a query cannot share it (SQLAlchemy reads the
    columns as soon as the query is sent). An error is SQLAlchemy's, as from
    ``session.execute``.
    """
    driver = session.connection().connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError("planned_rows needs a PostgreSQL session (psycopg)")
    try:
        with driver.pipeline(), driver.cursor() as cursor:
            cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            cursor.execute(query, parameters)
            return cursor.fetchall()
    except psycopg.Error as error:
        raise DBAPIError.instance(None, None, error, psycopg.Error, hide_parameters=True) from error


def _table(model: type[Base]) -> Table:
    return model.metadata.tables[model.__tablename__]
