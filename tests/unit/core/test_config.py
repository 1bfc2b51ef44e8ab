"""Settings: working defaults, and one clear error naming the bad setting."""

from __future__ import annotations

import pytest

from care_models.config import PROJECT_ROOT, load_settings, settings_table
from care_models.errors import ConfigurationError, MissingKeyError


def test_defaults_give_an_embedded_sqlite_database_under_var() -> None:
    settings = load_settings({})
    assert settings.mode == "development"
    assert settings.var_dir == (PROJECT_ROOT / "var").resolve()
    assert settings.database_url == f"sqlite:///{settings.var_dir / 'care.db'}"
    assert settings.output_dir == settings.var_dir / "out"
    assert settings.synthetic_clients == 450


def test_unknown_setting_is_named_with_a_suggestion() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"CARE_DATABSE_URL": "sqlite://"})
    assert caught.value.setting == "CARE_DATABSE_URL"
    assert "unknown setting" in str(caught.value)
    assert "CARE_DATABASE_URL" in str(caught.value)


def test_other_environment_variables_are_ignored() -> None:
    assert load_settings({"HOME": "/root", "AIRFLOW_HOME": "/x"}).mode == "development"


@pytest.mark.parametrize("missing", ["CARE_ENCRYPTION_KEYS", "CARE_MATCH_KEY", "CARE_TOKEN_KEY"])
def test_production_refuses_to_start_without_each_key(missing: str) -> None:
    environ = {
        "CARE_MODE": "production",
        "CARE_ENCRYPTION_KEYS": "k",
        "CARE_MATCH_KEY": "m",
        "CARE_TOKEN_KEY": "t",
    }
    del environ[missing]
    with pytest.raises(MissingKeyError) as caught:
        load_settings(environ)
    assert caught.value.setting == missing


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("CARE_MODE", "staging", "must be one of"),
        ("CARE_SYNTHETIC_CLIENTS", "many", "whole number"),
        ("CARE_SYNTHETIC_CLIENTS", "0", "at least 1"),
        ("CARE_SQLITE_BUSY_TIMEOUT_MS", "-5", "at least 0"),
        ("CARE_TOKEN_LIFETIME_DAYS", "4000", "at most 3650"),
        ("CARE_API_BYTES_PER_MINUTE", "2048", "at least CARE_API_MAX_BODY_BYTES"),
        ("CARE_RATE_LIMIT_STORAGE", "memcached://127.0.0.1", "redis:// or rediss://"),
    ],
)
def test_malformed_values_name_the_setting_and_rule(name: str, value: str, rule: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({name: value})
    assert caught.value.setting == name
    assert rule in caught.value.problem


def test_readme_configuration_table_is_the_settings_themselves() -> None:
    """Name, default and help of every setting are written once: README shows them as is."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("| Setting | Default | What it does |")
    table = readme[start:].split("\n\n", 1)[0].strip()
    assert table == settings_table()


def test_errors_name_the_rule_without_echoing_the_value() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"CARE_API_RATE_PER_MINUTE": "secret-looking-value"})
    assert "secret-looking-value" not in str(caught.value)
    assert caught.value.setting == "CARE_API_RATE_PER_MINUTE"


def test_empty_variables_mean_the_default() -> None:
    settings = load_settings({"CARE_DATABASE_URL": "", "CARE_ENCRYPTION_KEYS": " "})
    assert settings.database_url.startswith("sqlite:///")
    assert settings.encryption_keys == ()
