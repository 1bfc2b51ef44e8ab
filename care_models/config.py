"""Settings from environment variables, with working defaults for the embedded demo.

Every setting is an environment variable whose name starts with ``CARE_``, declared
once as a field of :class:`Settings` (pydantic-settings): its name, type, default,
bounds and help text. An unknown ``CARE_`` variable is an error (a misspelt setting
silently ignored is how a production system ends up on the demo key). The README's
configuration table is :func:`settings_table`; a test keeps the two equal.

Errors name the setting and the rule, never the value: a value may be a key.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from care_models.errors import ConfigurationError, MissingKeyError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PREFIX = "CARE_"
DEV_KEYS = "development: generated into `CARE_VAR_DIR/dev-keys.env`"


def _setting(default: Any, shown: str, description: str, **bounds: Any) -> Any:
    """A field with the default the README shows (when it is computed, not literal)."""
    return Field(default, description=description, json_schema_extra={"shown": shown}, **bounds)


class Settings(BaseSettings):
    """The platform's settings; ``CARE_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, frozen=True, extra="forbid")

    mode: Literal["development", "production"] = _setting(
        "development",
        "`development`",
        "`development` or `production`. Production refuses to start without "
        "`CARE_ENCRYPTION_KEYS`, `CARE_MATCH_KEY` and `CARE_TOKEN_KEY`, never generates "
        "keys and refuses `seed`.",
    )
    var_dir: Path = _setting(
        PROJECT_ROOT / "var",
        "`<project>/var`",
        "Where the embedded database, development keys, Airflow home and outputs live.",
    )
    database_url: str = _setting(
        "",
        "`sqlite:///<CARE_VAR_DIR>/care.db`",
        "SQLAlchemy URL of the care database: `sqlite:///…` or `postgresql+psycopg://…` "
        "(`postgresql://` means psycopg 3). SQLite runs with WAL, a busy timeout and "
        "foreign keys on.",
    )
    encryption_keys: tuple[str, ...] = _setting(
        (),
        DEV_KEYS,
        "Comma-separated urlsafe-base64 32-byte AES-GCM keys; the first encrypts, all "
        "decrypt (key rotation). Make one with `python -m care_models keygen`.",
    )
    match_key: str | None = _setting(
        None,
        DEV_KEYS,
        "Urlsafe-base64 32-byte HMAC key for the keyed hashes that match a person "
        "(resident registration number; name + birth date + phone).",
    )
    token_key: str | None = _setting(
        None,
        DEV_KEYS,
        "Urlsafe-base64 32-byte HMAC key for the keyed hashes of hospitals' API tokens and "
        "coordinators' calendar-feed tokens; separate from `CARE_MATCH_KEY`, so neither key "
        "opens the other's hashes.",
    )
    output_dir: Path = _setting(
        Path(),
        "`<CARE_VAR_DIR>/out`",
        "Where workflows write files a person reads (schedules, agendas, reports).",
    )
    sqlite_busy_timeout_ms: int = _setting(
        10000, "`10000`", "How long a SQLite writer waits for a lock before failing.", ge=0
    )
    run_deadline_seconds: int = _setting(
        0,
        "`0` (the schedule's interval)",
        "Airflow Deadline Alert of `referral_intake` and `device_alert_sync`: a run not "
        "done this long after it was queued texts the on-duty administrator (0: the "
        "schedule's interval, 15 and 10 minutes; shorter for a drill or a test).",
        ge=0,
    )
    synthetic_clients: int = _setting(
        450,
        "`450`",
        "Number of clients the synthetic county generates (benchmarks use up to 100000; "
        "staff grow in proportion).",
        ge=1,
    )
    synthetic_seed: int = _setting(
        20260301,
        "`20260301`",
        "Seed of the synthetic county: the same seed gives the same county.",
        ge=0,
    )
    api_max_body_bytes: int = _setting(
        1048576,
        "`1048576`",
        "Largest request body the care API accepts (a referral Bundle is a few kB); "
        "larger is a 413.",
        ge=1024,
    )
    api_rate_per_minute: int = _setting(
        600,
        "`600`",
        "Requests per minute each hospital may make to the care API; more is a 429.",
        ge=1,
    )
    api_read_timeout_seconds: float = _setting(
        10.0,
        "`10`",
        "How long the care API's own server (`care_api.serve`) waits for a request's "
        "headers and body; a client still sending after that is disconnected.",
        gt=0,
    )
    api_max_connections: int = _setting(
        1000,
        "`1000`",
        "Open connections each care API worker (`care_api.serve`) serves at once; a "
        "request on one more is answered 503.",
        ge=1,
    )
    api_bytes_per_minute: int = _setting(
        33554432,
        "`33554432`",
        "Request body bytes per minute each hospital may send to the care API (32 MiB; at "
        "least `CARE_API_MAX_BODY_BYTES`); more is a 429.",
        ge=1024,
    )
    api_auth_failures_per_minute: int = _setting(
        20,
        "`20`",
        "Failed logins (wrong API or calendar token) a minute from one client address; "
        "after that the address gets a 429 with `Retry-After`, without a database lookup.",
        ge=1,
    )
    rate_limit_storage: str = _setting(
        "",
        "`<CARE_VAR_DIR>/ratelimit.db`",
        "Where the care API counts requests, bytes and failed logins, shared by all its "
        "workers: `redis://host:port/db` (or `rediss://`) for Redis, which several machines "
        "can share; empty for a SQLite file under `CARE_VAR_DIR`, which the workers of one "
        "machine share.",
    )
    token_lifetime_days: int = _setting(
        365,
        "`365`",
        "Default lifetime of a token issued or rotated with `python -m care_models token` "
        "(`--days` chooses another, 1 to 3650).",
        ge=1,
        le=3650,
    )
    token_rotation_grace_minutes: int = _setting(
        1440,
        "`1440`",
        "After `token rotate`, how long the holder's previous tokens keep working (one day "
        "to deploy the new one); `0` stops them at once.",
        ge=0,
        le=10080,
    )
    callback_connect_timeout_seconds: float = _setting(
        3.0,
        "`3.0`",
        "How long a hospital callback waits to connect; a closed or unreachable endpoint "
        "fails this fast.",
        gt=0,
    )
    callback_timeout_seconds: float = _setting(
        10.0,
        "`10.0`",
        "How long a hospital callback waits for each read or write once connected.",
        gt=0,
    )
    callback_breaker_failures: int = _setting(
        3,
        "`3`",
        "Failures in a row after which a hospital's callbacks are skipped for the rest "
        "of a `hospital_callbacks` run (its circuit breaker).",
        ge=1,
    )
    callback_max_attempts: int = _setting(
        8,
        "`8`",
        "Attempts (across runs) to deliver one Task version before it is dead-lettered "
        "and the team is alerted.",
        ge=1,
    )
    callback_backoff_minutes: int = _setting(
        5,
        "`5`",
        "Wait before a failed Task version is tried again, doubled after each failure "
        "(at most 6 hours).",
        ge=0,
    )
    sms_max_attempts: int = _setting(
        4,
        "`4`",
        "Attempts (across runs) to hand one protocol text to the SMS gateway before it is "
        "dead-lettered and the team is alerted.",
        ge=1,
    )
    sms_backoff_minutes: int = _setting(
        2,
        "`2`",
        "Wait before a text the gateway refused for a while is tried again, doubled after "
        "each failure.",
        ge=0,
    )
    retention_raw_bundle_days: int = _setting(
        90,
        "`90`",
        "Days a referral's raw Bundle (encrypted, RRN included) is kept after the referral "
        "reached a decided status (accepted, rejected, in progress, completed, cancelled); "
        "then the daily retention job empties it. The referral's coded rows stay.",
        ge=1,
    )
    retention_published_days: int = _setting(
        30,
        "`30`",
        "Days the published day sheets, calendars and CSVs of a horizon "
        "(`CARE_OUTPUT_DIR/visits/<Monday>/`) are kept after the horizon ends.",
        ge=0,
    )
    retention_audit_days: int = _setting(
        730,
        "`730`",
        "Days the audit log is kept; at least 730 (two years): a shorter period is refused.",
        ge=730,
    )
    api_max_json_depth: int = _setting(
        32,
        "`32`",
        "Deepest nesting of objects and arrays the care API parses (a referral needs "
        "about 10); deeper is a 400.",
        ge=8,
        le=200,
    )
    api_max_bundle_entries: int = _setting(
        100,
        "`100`",
        "Most entries a referral Bundle may hold (a referral has about 10); more is a 413.",
        ge=10,
    )
    api_max_string_chars: int = _setting(
        4096,
        "`4096`",
        "Longest JSON string (and object key) the care API accepts; longer is a 400.",
        ge=256,
    )
    api_max_identifier_chars: int = _setting(
        100,
        "`100`",
        "Longest identifier, reference, system or id (the database keeps 100); longer is a 400.",
        ge=16,
        le=100,
    )
    api_max_number_chars: int = _setting(
        32,
        "`32`",
        "Longest JSON number literal the care API converts; longer is a 400.",
        ge=8,
        le=1000,
    )
    api_validation_workers: int = _setting(
        2,
        "`2`",
        "Threads per API process that validate Bundles, off the event loop.",
        ge=1,
    )
    api_validation_queue: int = _setting(
        64,
        "`64`",
        "Bundles that may wait for a validation thread; beyond, the API answers 503 "
        "with Retry-After.",
        ge=0,
    )
    test_postgres_url: str = _setting(
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        "`postgresql+psycopg://postgres@127.0.0.1:5432/test`",
        "Tests only: the PostgreSQL server the suite also runs on.",
    )
    test_require_browser: bool = _setting(
        False,
        "`0`",
        "Tests only: `1` makes missing Chromium/ChromeDriver a failure instead of a skip (CI).",
    )
    test_require_postgres: bool = _setting(
        False,
        "`0`",
        "Tests only: `1` makes an unreachable PostgreSQL a failure instead of a skip (CI).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        *_: PydanticBaseSettingsSource,
        **__: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings reads the environment (or the mapping a test passes) itself, so
        # that a test's mapping is the whole environment and nothing leaks in.
        return (init_settings,)

    @model_validator(mode="after")
    def _derived_defaults(self) -> Settings:
        var_dir = self.var_dir.resolve()
        object.__setattr__(self, "var_dir", var_dir)
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{var_dir / 'care.db'}")
        output = self.output_dir if self.output_dir != Path() else var_dir / "out"
        object.__setattr__(self, "output_dir", output.resolve())
        return self

    @property
    def production(self) -> bool:
        return self.mode == "production"

    @property
    def dev_keys_file(self) -> Path:
        return self.var_dir / "dev-keys.env"

    @property
    def dev_tokens_file(self) -> Path:
        """Development only: the synthetic hospitals' and coordinators' tokens (0600)."""
        return self.var_dir / "dev-tokens.json"


def env_name(field: str) -> str:
    return f"{PREFIX}{field.upper()}"


KNOWN_SETTINGS = frozenset(env_name(name) for name in Settings.model_fields)


def settings_table() -> str:
    """The README's configuration table, from the fields themselves."""
    lines = ["| Setting | Default | What it does |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        extra = field.json_schema_extra
        shown = extra["shown"] if isinstance(extra, dict) else ""
        lines.append(f"| `{env_name(name)}` | {shown} | {field.description} |")
    return "\n".join(lines)


def reject_unknown_settings(environ: Mapping[str, str]) -> None:
    for name in sorted(environ):
        if name.startswith(PREFIX) and name not in KNOWN_SETTINGS:
            close = difflib.get_close_matches(name, KNOWN_SETTINGS, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigurationError(name, f"unknown setting{hint}")


def _field_values(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        raw = environ.get(env_name(name), "").strip()
        if not raw:
            continue  # an empty variable means the default, as an absent one does
        values[name] = raw
    if "encryption_keys" in values:
        values["encryption_keys"] = tuple(
            key.strip() for key in values["encryption_keys"].split(",") if key.strip()
        )
    if "mode" in values:
        values["mode"] = values["mode"].lower()
    return values


def _rule(error: Mapping[str, Any]) -> str:
    """Pydantic's rule for one bad field, in words that do not repeat the value."""
    context = error.get("ctx") or {}
    kind = error["type"]
    if kind == "literal_error":
        return f"must be one of {context.get('expected', '')}".replace("'", "")
    if kind in ("int_parsing", "int_from_float"):
        return "must be a whole number"
    if kind in ("greater_than_equal", "greater_than"):
        return f"must be at least {context.get('ge', context.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"must be at most {context.get('le', context.get('lt'))}"
    if kind == "bool_parsing":
        return "must be 0 or 1"
    return "is malformed"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting; raises ConfigurationError naming the first bad one."""
    env = os.environ if environ is None else environ
    reject_unknown_settings(env)
    try:
        settings = Settings(**_field_values(env))
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        raise ConfigurationError(env_name(str(error["loc"][0])), _rule(error)) from None
    if settings.production:
        if not settings.encryption_keys:
            raise MissingKeyError("CARE_ENCRYPTION_KEYS", "required in production mode")
        if not settings.match_key:
            raise MissingKeyError("CARE_MATCH_KEY", "required in production mode")
        if not settings.token_key:
            raise MissingKeyError("CARE_TOKEN_KEY", "required in production mode")
    if settings.api_bytes_per_minute < settings.api_max_body_bytes:
        raise ConfigurationError(
            "CARE_API_BYTES_PER_MINUTE", "must be at least CARE_API_MAX_BODY_BYTES"
        )
    storage = settings.rate_limit_storage
    if storage and not storage.startswith(("redis://", "rediss://")):
        raise ConfigurationError(
            "CARE_RATE_LIMIT_STORAGE", "must be empty or a redis:// or rediss:// URL"
        )
    return settings
