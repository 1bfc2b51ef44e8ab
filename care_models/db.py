"""Engines and sessions for the care database. Callers create engines; nothing at import."""

from __future__ import annotations

import ipaddress
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from care_models.config import Settings
from care_models.errors import ConfigurationError

SUPPORTED_BACKENDS = ("sqlite", "postgresql")
PRIVATE_FILE_MODE = 0o600
LOCAL_HOSTS = frozenset({"", "localhost"})


def parse_database_url(raw: str, setting: str = "CARE_DATABASE_URL") -> URL:
    """Parse and check a database URL; the error names the setting, never the password."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigurationError(
            setting, "is not a database URL (expected sqlite:///path or postgresql+psycopg://…)"
        ) from None
    if url.get_backend_name() not in SUPPORTED_BACKENDS:
        raise ConfigurationError(
            setting,
            f"backend {url.get_backend_name()!r} is not supported "
            f"(use one of {', '.join(SUPPORTED_BACKENDS)})",
        )
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def is_local_database(raw: str) -> bool:
    """Whether the database lives on this machine: SQLite, or a loopback or socket host.

    Development keys sit in a file next to the code; data they protect must not leave
    the machine, so :meth:`care_models.privacy.Vault.from_settings` refuses them for any
    other database.
    """
    url = parse_database_url(raw)
    if url.get_backend_name() == "sqlite":
        return True
    query_host = url.query.get("host")
    hosts = [url.host or ""]
    hosts += list(query_host) if isinstance(query_host, tuple) else [query_host or ""]
    return all(_local_host(host) for host in hosts)


def _local_host(host: str) -> bool:
    if host in LOCAL_HOSTS or host.startswith("/"):  # a Unix socket directory
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def make_private(path: Path) -> None:
    """Create ``path`` readable by its owner only (0600), or tighten it if it is looser.

    The care database holds ciphertexts, keyed hashes and audit rows; a key file holds
    the keys. Neither is for other accounts on the machine, whatever the umask.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        if stat.S_IMODE(path.stat().st_mode) & 0o077 and path.stat().st_uid == os.getuid():
            path.chmod(PRIVATE_FILE_MODE)
    else:
        os.close(fd)


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def make_engine(
    url: str, *, busy_timeout_ms: int = 10000, setting: str = "CARE_DATABASE_URL"
) -> Engine:
    """Create an engine and prove it connects; a bad URL raises ConfigurationError."""
    parsed = parse_database_url(url, setting)
    # Parameters never reach logs or exception messages: they may hold personal data.
    kwargs: dict[str, Any] = {"hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            path = Path(database).expanduser().resolve()
            if not path.parent.is_dir():
                raise ConfigurationError(setting, f"SQLite directory does not exist: {path.parent}")
            # Before SQLite opens it: its -wal and -shm files take the database's mode.
            make_private(path)
        kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise ConfigurationError(setting, f"cannot use this URL: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(busy_timeout_ms))
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise ConfigurationError(
            setting,
            f"cannot connect to {parsed.render_as_string(hide_password=True)}: {reason}",
        ) from None
    return engine


def engine_from_settings(settings: Settings) -> Engine:
    if settings.database_url.startswith("sqlite"):
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def engine_from_environment() -> Engine:
    """The care database of the current configuration (what DAG tasks use)."""
    from care_models.config import load_settings

    return engine_from_settings(load_settings())
