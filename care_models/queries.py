"""Load the SQL of ``sql/``: one query per file, named ``<area>/<verb>_<what>.sql``.

A query that cannot be written portably is split by dialect:
``<name>.postgresql.sql`` or ``<name>.sqlite.sql`` is used before ``<name>.sql``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import TextClause, text

from care_models.config import PROJECT_ROOT
from care_models.errors import ConfigurationError

SQL_DIR = PROJECT_ROOT / "sql"


def query_path(name: str, dialect: str | None = None) -> Path:
    candidates = [SQL_DIR / f"{name}.{dialect}.sql"] if dialect else []
    candidates.append(SQL_DIR / f"{name}.sql")
    for path in candidates:
        if path.is_file():
            return path
    raise ConfigurationError(f"sql/{name}.sql", "no such query file")


@lru_cache(maxsize=256)
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def load_query(name: str, dialect: str | None = None) -> TextClause:
    """The query as a TextClause with bound parameters (``:name``)."""
    return text(_read(query_path(name, dialect)))
