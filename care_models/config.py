"""Settings from environment variables, with working defaults for the embedded demo.

Every setting is an environment variable whose name starts with ``CARE_``. An
unknown ``CARE_`` variable is an error (a misspelt setting silently ignored is how
a production system ends up on the demo key). ``SETTINGS`` below is the single
list the README's configuration table is written from.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from care_models.errors import ConfigurationError, MissingKeyError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODES = ("development", "production")


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    description: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "CARE_MODE",
        "development",
        "`development` or `production`. Production refuses to start without "
        "CARE_ENCRYPTION_KEYS and CARE_MATCH_KEY and never generates keys.",
    ),
    Setting(
        "CARE_VAR_DIR",
        "<project>/var",
        "Where the embedded database, development keys, Airflow home and outputs live.",
    ),
    Setting(
        "CARE_DATABASE_URL",
        "sqlite:///<CARE_VAR_DIR>/care.db",
        "SQLAlchemy URL of the care database: `sqlite:///…` or `postgresql+psycopg://…`.",
    ),
    Setting(
        "CARE_ENCRYPTION_KEYS",
        "(development: generated into CARE_VAR_DIR/dev-keys.env)",
        "Comma-separated urlsafe-base64 32-byte AES-GCM keys; the first encrypts, all "
        "decrypt (key rotation). Make one with `python -m care_models keygen`.",
    ),
    Setting(
        "CARE_MATCH_KEY",
        "(development: generated into CARE_VAR_DIR/dev-keys.env)",
        "Urlsafe-base64 32-byte HMAC key for the keyed hashes that match a person.",
    ),
    Setting(
        "CARE_OUTPUT_DIR",
        "<CARE_VAR_DIR>/out",
        "Where workflows write files a person reads (schedules, agendas, reports).",
    ),
    Setting(
        "CARE_SQLITE_BUSY_TIMEOUT_MS",
        "10000",
        "How long a SQLite writer waits for a lock before failing.",
    ),
    Setting(
        "CARE_SYNTHETIC_CLIENTS",
        "450",
        "Number of clients the synthetic county generates (benchmarks use up to 100000).",
    ),
    Setting(
        "CARE_SYNTHETIC_SEED",
        "20260301",
        "Seed of the synthetic county: the same seed gives the same county.",
    ),
    Setting(
        "CARE_API_MAX_BODY_BYTES",
        "1048576",
        "Largest request body the care API accepts (a referral Bundle is a few kB).",
    ),
    Setting(
        "CARE_API_RATE_PER_MINUTE",
        "600",
        "Requests per minute each hospital may make to the care API (token bucket).",
    ),
    Setting(
        "CARE_TEST_POSTGRES_URL",
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        "Tests only: the PostgreSQL server the suite also runs on.",
    ),
    Setting(
        "CARE_TEST_REQUIRE_BROWSER",
        "0",
        "Tests only: `1` makes missing Chromium/ChromeDriver a failure instead of a skip (CI).",
    ),
    Setting(
        "CARE_TEST_REQUIRE_POSTGRES",
        "0",
        "Tests only: `1` makes an unreachable PostgreSQL a failure instead of a skip (CI).",
    ),
)
KNOWN_SETTINGS = frozenset(s.name for s in SETTINGS)


@dataclass(frozen=True)
class Settings:
    mode: str
    var_dir: Path
    database_url: str
    encryption_keys: tuple[str, ...]
    match_key: str | None
    output_dir: Path
    sqlite_busy_timeout_ms: int
    synthetic_clients: int
    synthetic_seed: int
    api_max_body_bytes: int = 1048576
    api_rate_per_minute: int = 600

    @property
    def production(self) -> bool:
        return self.mode == "production"

    @property
    def dev_keys_file(self) -> Path:
        return self.var_dir / "dev-keys.env"


def reject_unknown_settings(environ: Mapping[str, str]) -> None:
    for name in sorted(environ):
        if name.startswith("CARE_") and name not in KNOWN_SETTINGS:
            close = difflib.get_close_matches(name, KNOWN_SETTINGS, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigurationError(name, f"unknown setting{hint}")


def _int_setting(environ: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = environ.get(name, str(default)).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(name, f"must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(name, f"must be at least {minimum}, got {value}")
    return value


def _mode(environ: Mapping[str, str]) -> str:
    mode = environ.get("CARE_MODE", "development").strip().lower()
    if mode not in MODES:
        raise ConfigurationError("CARE_MODE", f"must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting; raises ConfigurationError naming the first bad one."""
    env = os.environ if environ is None else environ
    reject_unknown_settings(env)
    mode = _mode(env)
    var_dir = Path(env.get("CARE_VAR_DIR") or PROJECT_ROOT / "var").resolve()
    database_url = env.get("CARE_DATABASE_URL") or f"sqlite:///{var_dir / 'care.db'}"
    keys = tuple(k.strip() for k in env.get("CARE_ENCRYPTION_KEYS", "").split(",") if k.strip())
    match_key = env.get("CARE_MATCH_KEY", "").strip() or None
    if mode == "production":
        if not keys:
            raise MissingKeyError("CARE_ENCRYPTION_KEYS", "required in production mode")
        if not match_key:
            raise MissingKeyError("CARE_MATCH_KEY", "required in production mode")
    return Settings(
        mode=mode,
        var_dir=var_dir,
        database_url=database_url,
        encryption_keys=keys,
        match_key=match_key,
        output_dir=Path(env.get("CARE_OUTPUT_DIR") or var_dir / "out").resolve(),
        sqlite_busy_timeout_ms=_int_setting(env, "CARE_SQLITE_BUSY_TIMEOUT_MS", 10000, 0),
        synthetic_clients=_int_setting(env, "CARE_SYNTHETIC_CLIENTS", 450, 1),
        synthetic_seed=_int_setting(env, "CARE_SYNTHETIC_SEED", 20260301, 0),
        api_max_body_bytes=_int_setting(env, "CARE_API_MAX_BODY_BYTES", 1048576, 1024),
        api_rate_per_minute=_int_setting(env, "CARE_API_RATE_PER_MINUTE", 600, 1),
    )
