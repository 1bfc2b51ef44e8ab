"""Field encryption, key rotation, keyed match hashes and development keys."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from care_models.config import load_settings
from care_models.errors import ConfigurationError, DecryptionError, MissingKeyError, ValidationError
from care_models.privacy import Vault, generate_key, normalise_phone, normalise_rrn


def test_encrypt_round_trip_and_no_clear_text(vault: Vault) -> None:
    token = vault.encrypt("김순자", "clients.name")
    assert "김순자" not in token and token.startswith("v1.")
    assert vault.decrypt(token, "clients.name") == "김순자"


def test_same_value_encrypts_differently_each_time(vault: Vault) -> None:
    assert vault.encrypt("010-1234-5678", "f") != vault.encrypt("010-1234-5678", "f")


def test_ciphertext_is_bound_to_its_field(vault: Vault) -> None:
    token = vault.encrypt("충청북도 진천군", "clients.address")
    with pytest.raises(DecryptionError, match=r"clients\.name"):
        vault.decrypt(token, "clients.name")


def test_tampered_ciphertext_does_not_open(vault: Vault) -> None:
    token = vault.encrypt("secret", "f")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(DecryptionError):
        vault.decrypt(tampered, "f")


def test_key_rotation_old_key_still_decrypts() -> None:
    old, new, match = generate_key(), generate_key(), generate_key()
    token = Vault.from_keys([old], match).encrypt("이영수", "clients.name")
    rotated = Vault.from_keys([new, old], match)
    assert rotated.decrypt(token, "clients.name") == "이영수"
    assert (
        Vault.from_keys([new], match).encrypt("x", "f").split(".")[1]
        == rotated.encrypt("x", "f").split(".")[1]
    )
    with pytest.raises(DecryptionError, match="not configured"):
        Vault.from_keys([new], match).decrypt(token, "clients.name")


def test_bad_key_names_the_setting() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Vault.from_keys(["c2hvcnQ="], generate_key())
    assert caught.value.setting == "CARE_ENCRYPTION_KEYS"


def test_rrn_hash_ignores_formatting_and_depends_on_the_key(vault: Vault) -> None:
    assert vault.rrn_hash("400101-2345678") == vault.rrn_hash("4001012345678")
    other = Vault.from_keys([generate_key()], generate_key())
    assert other.rrn_hash("400101-2345678") != vault.rrn_hash("400101-2345678")


def test_invalid_rrn_error_never_echoes_the_value() -> None:
    with pytest.raises(ValidationError) as caught:
        normalise_rrn("400101-9999")
    assert caught.value.field == "rrn"
    assert "9999" not in str(caught.value)


def test_name_birth_phone_hash_normalises_spaces_and_phone_format(vault: Vault) -> None:
    birth = dt.date(1941, 3, 2)
    assert vault.name_birth_phone_hash(
        "김 순자", birth, "010-1234-5678"
    ) == vault.name_birth_phone_hash("김순자", birth, "01012345678")
    assert normalise_phone("+82 10-1234-5678") == "01012345678"


def test_development_generates_a_local_key_file_once(isolated_var_dir: Path) -> None:
    settings = load_settings({"CARE_VAR_DIR": str(isolated_var_dir)})
    first = Vault.from_settings(settings)
    keys_file = isolated_var_dir / "dev-keys.env"
    assert keys_file.exists() and oct(keys_file.stat().st_mode)[-3:] == "600"
    assert "NOT FOR PRODUCTION" in keys_file.read_text()
    second = Vault.from_settings(settings)
    assert first == second


def test_production_never_generates_a_key(isolated_var_dir: Path) -> None:
    settings = load_settings(
        {
            "CARE_VAR_DIR": str(isolated_var_dir),
            "CARE_MODE": "production",
            "CARE_ENCRYPTION_KEYS": generate_key(),
            "CARE_MATCH_KEY": generate_key(),
            "CARE_TOKEN_KEY": generate_key(),
        }
    )
    object.__setattr__(settings, "match_key", None)
    with pytest.raises(MissingKeyError):
        Vault.from_settings(settings)
    assert not (isolated_var_dir / "dev-keys.env").exists()


def test_tokens_are_hashed_with_their_own_key_not_the_match_key() -> None:
    encryption, match = generate_key(), generate_key()
    one = Vault.from_keys([encryption], match, generate_key())
    other = Vault.from_keys([encryption], match, generate_key())
    assert one.token_hash("a-token") != other.token_hash("a-token")  # the token key decides
    same_token_key = Vault.from_keys([generate_key()], generate_key(), generate_key())
    assert same_token_key.token_hash("a-token") != one.token_hash("a-token")
    with pytest.raises(MissingKeyError) as caught:
        Vault.from_keys([encryption], match).token_hash("a-token")
    assert caught.value.setting == "CARE_TOKEN_KEY"


def test_production_without_the_token_key_is_a_missing_key(isolated_var_dir: Path) -> None:
    settings = load_settings(
        {
            "CARE_VAR_DIR": str(isolated_var_dir),
            "CARE_MODE": "production",
            "CARE_ENCRYPTION_KEYS": generate_key(),
            "CARE_MATCH_KEY": generate_key(),
            "CARE_TOKEN_KEY": generate_key(),
        }
    )
    object.__setattr__(settings, "token_key", None)
    with pytest.raises(MissingKeyError) as caught:
        Vault.from_settings(settings)
    assert caught.value.setting == "CARE_TOKEN_KEY"
    assert not (isolated_var_dir / "dev-keys.env").exists()


def test_development_adds_a_token_key_to_an_older_key_file(isolated_var_dir: Path) -> None:
    keys_file = isolated_var_dir / "dev-keys.env"
    encryption, match = generate_key(), generate_key()
    keys_file.write_text(f"CARE_ENCRYPTION_KEYS={encryption}\nCARE_MATCH_KEY={match}\n")
    vault = Vault.from_settings(load_settings({"CARE_VAR_DIR": str(isolated_var_dir)}))
    assert vault.token_key is not None and vault.token_key != vault.match_key
    assert "CARE_TOKEN_KEY=" in keys_file.read_text()
    again = Vault.from_settings(load_settings({"CARE_VAR_DIR": str(isolated_var_dir)}))
    assert again == vault
