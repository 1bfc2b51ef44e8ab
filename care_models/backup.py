"""Backups of the care database, and restoring one into an empty database.

- **SQLite**: the online backup API (``sqlite3.Connection.backup``), page by page
  while the platform keeps running: a consistent copy, not a file copy of a database
  being written.
- **PostgreSQL**: ``pg_dump --format=custom`` and ``pg_restore --single-transaction``
  (all or nothing); the password reaches them in ``PGPASSWORD``, never on a command
  line.

Personal data is stored only as ciphertext (:class:`care_models.privacy.Vault`) and
the keys live outside the database (``CARE_ENCRYPTION_KEYS``, ``CARE_MATCH_KEY``,
``CARE_TOKEN_KEY``), so a backup holds ciphertext only: without the keys it reveals
nobody. Next to the backup, ``<file>.manifest.json`` records the backend, the schema
revision, the row count of every table and the file's SHA-256; :func:`restore`
checks the file against it before touching the target, refuses a target that already
holds care data, and checks the row counts after.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import Engine, func, inspect, select, text

from care_models.db import make_private
from care_models.errors import ConfigurationError, DataError, ValidationError
from care_models.schema import Base

MANIFEST_SUFFIX = ".manifest.json"
PG_DUMP = ("pg_dump", "--format=custom", "--no-owner", "--no-privileges")
PG_RESTORE = (
    "pg_restore",
    "--no-owner",
    "--no-privileges",
    "--exit-on-error",
    "--single-transaction",
)
PG_TIMEOUT_S = 3600  # a county's dump takes minutes; a hung tool must not hang the job


@dataclass(frozen=True)
class Manifest:
    backend: str
    revision: str | None
    made_at: str
    sha256: str
    row_counts: dict[str, int]


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows of every care table that exists (the schema's tables, in name order)."""
    present = set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        return {
            table.name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
            for table in sorted(Base.metadata.tables.values(), key=lambda t: t.name)
            if table.name in present
        }


def _revision(engine: Engine) -> str | None:
    if "alembic_version" not in inspect(engine).get_table_names():
        return None
    with engine.connect() as connection:
        return connection.scalar(text("SELECT version_num FROM alembic_version"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + MANIFEST_SUFFIX)


def _sqlite_file(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise ConfigurationError("CARE_DATABASE_URL", "a SQLite backup needs a database file")
    return Path(database).expanduser().resolve()


def _libpq(engine: Engine) -> tuple[list[str], dict[str, str]]:
    """The connection as pg_dump/pg_restore options, and the password in PGPASSWORD."""
    url = engine.url
    options = ["--dbname", str(url.database or "")]
    if url.host:
        options += ["--host", url.host]
    if url.port:
        options += ["--port", str(url.port)]
    if url.username:
        options += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return options, env


def _run(command: list[str], env: dict[str, str]) -> None:
    tool = command[0]
    if shutil.which(tool) is None:
        raise ConfigurationError(tool, "is not installed (the PostgreSQL client tools)")
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=PG_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise DataError(f"{tool}: no answer within {PG_TIMEOUT_S} s") from None
    if done.returncode != 0:
        # the tools' own messages name objects, not row values
        reason = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise DataError(f"{tool}: {reason}")


def sqlite_copy(source_file: Path, target_file: Path) -> None:
    """SQLite's online backup, page by page, of one file into another."""
    source = sqlite3.connect(source_file)
    target = sqlite3.connect(target_file)
    try:
        with target:
            source.backup(target)
    finally:
        target.close()
        source.close()


def backup(engine: Engine, path: Path, now: dt.datetime) -> Manifest:
    """Write a backup of the database to ``path`` and its manifest next to it."""
    path = path.expanduser().resolve()
    if path.exists():
        raise ValidationError("PATH", "a backup is never written over an existing file")
    if not path.parent.is_dir():
        raise ValidationError("PATH", "its folder must exist")
    make_private(path)
    backend = engine.url.get_backend_name()
    counts = row_counts(engine)
    if backend == "sqlite":
        sqlite_copy(_sqlite_file(engine), path)
    elif backend == "postgresql":
        options, env = _libpq(engine)
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                "--file",
                str(path),
                *options,
            ],
            env,
        )
    else:
        raise ConfigurationError("CARE_DATABASE_URL", f"no backup for the {backend} backend")
    manifest = Manifest(backend, _revision(engine), now.isoformat(), _sha256(path), counts)
    make_private(manifest_path(path))
    manifest_path(path).write_text(json.dumps(asdict(manifest), indent=2) + "\n", "utf-8")
    return manifest


def read_manifest(path: Path) -> Manifest:
    where = manifest_path(path)
    try:
        return Manifest(**json.loads(where.read_text("utf-8")))
    except FileNotFoundError:
        raise ValidationError("PATH", "the backup's manifest is missing beside it") from None
    except (ValueError, TypeError):
        raise ValidationError("PATH", "the backup's manifest is not a manifest") from None


def restore(engine: Engine, path: Path) -> Manifest:
    """Restore the backup at ``path`` into the (empty) database of ``engine``."""
    path = path.expanduser().resolve()
    if not path.is_file():
        raise ValidationError("PATH", "no backup file there")
    manifest = read_manifest(path)
    if _sha256(path) != manifest.sha256:
        raise ValidationError("PATH", "the file does not match its manifest (changed or cut)")
    backend = engine.url.get_backend_name()
    if backend != manifest.backend:
        raise ValidationError("PATH", f"a {manifest.backend} backup cannot go into {backend}")
    if any(row_counts(engine).values()):
        raise ValidationError("CARE_DATABASE_URL", "restore only into an empty database")
    if backend == "sqlite":
        engine.dispose()
        target_file = _sqlite_file(engine)
        sqlite_copy(path, target_file)
        make_private(target_file)
    else:
        _drop_empty_schema(engine)
        options, env = _libpq(engine)
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                *options,
                str(path),
            ],
            env,
        )
    engine.dispose()
    restored = row_counts(engine)
    if restored != manifest.row_counts:
        differ = sorted(t for t in manifest.row_counts if restored.get(t) != manifest.row_counts[t])
        raise DataError("restore: row counts differ from the manifest in " + ", ".join(differ))
    return manifest


def _drop_empty_schema(engine: Engine) -> None:
    """A migrated but empty target: its (empty) tables go, so the dump's schema fits."""
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(text(f'DROP TABLE IF EXISTS "{table.name}" CASCADE'))
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def run_command(engine: Engine, action: str, path: Path, now: dt.datetime) -> int:
    """``python -m care_models backup|restore PATH``."""
    try:
        if action == "backup":
            made = backup(engine, path, now)
            rows = sum(made.row_counts.values())
            print(f"backup of the {made.backend} database (revision {made.revision}): {path}")
            print(f"  {rows} rows in {len(made.row_counts)} tables; manifest {manifest_path(path)}")
            print("  it holds ciphertext only: keep the keys elsewhere, they are not in it")
        else:
            made = restore(engine, path)
            rows = sum(made.row_counts.values())
            print(f"restored {path}: {rows} rows in {len(made.row_counts)} tables, as counted")
    finally:
        engine.dispose()
    return 0


__all__ = [
    "Manifest",
    "backup",
    "manifest_path",
    "read_manifest",
    "restore",
    "row_counts",
    "run_command",
]
