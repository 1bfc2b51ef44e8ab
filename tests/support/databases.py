"""Fresh, migrated care databases for tests: a new SQLite file, or a scratch PostgreSQL
database created on a server and dropped afterwards.

The session fixtures in ``tests/conftest.py`` and tests that need a second database of
the same backend (a restore target) make theirs here, so both migrate the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from care_models import migrations
from care_models.db import make_engine


def migrate(url: str) -> None:
    """Bring the care database at ``url`` to the head revision."""
    engine = make_engine(url)
    try:
        migrations.upgrade(engine)
    finally:
        engine.dispose()


def sqlite_database(path: Path) -> str:
    """A new SQLite care database in the file ``path``, migrated; its URL."""
    url = f"sqlite:///{path}"
    migrate(url)
    return url


@contextmanager
def scratch_postgres_database(server_url: str, prefix: str = "care_test") -> Iterator[str]:
    """A new PostgreSQL care database on the server of ``server_url``, migrated, and
    dropped (whoever is still connected) when the block ends; yields its URL."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = admin.url.set(database=name).render_as_string(hide_password=False)
            migrate(url)
            yield url
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def fresh_database(like_url: str, directory: Path, name: str = "care") -> Iterator[str]:
    """A new, migrated care database of the same backend as ``like_url``: the SQLite
    file ``directory/<name>.db``, or a scratch database on the same PostgreSQL server."""
    if make_url(like_url).get_backend_name() == "sqlite":
        yield sqlite_database(directory / f"{name}.db")
    else:
        with scratch_postgres_database(like_url, prefix=f"care_{name}") as url:
            yield url
