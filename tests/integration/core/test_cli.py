"""Bad configuration stops with one line naming the setting, no traceback, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from care_models.config import PROJECT_ROOT
from care_models.privacy import generate_key


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CARE_")}
    return subprocess.run(
        [sys.executable, "-m", "care_models", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
    )


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"CARE_DATABASE_URL": "not a url"}, "CARE_DATABASE_URL"),
        ({"CARE_DATABASE_URL": "mysql://root@127.0.0.1/test"}, "CARE_DATABASE_URL"),
        ({"CARE_DATABASE_URL": "postgresql://care:secret@127.0.0.1:1/care"}, "CARE_DATABASE_URL"),
        ({"CARE_DATABASE_URL": "sqlite:////nonexistent-dir/care.db"}, "CARE_DATABASE_URL"),
        ({"CARE_MODE": "production"}, "CARE_ENCRYPTION_KEYS"),
        ({"CARE_MODE": "production", "CARE_ENCRYPTION_KEYS": generate_key()}, "CARE_MATCH_KEY"),
        ({"CARE_COLOUR": "blue"}, "CARE_COLOUR"),
    ],
    ids=[
        "malformed-url",
        "unsupported-backend",
        "unreachable-server",
        "missing-dir",
        "production-without-key",
        "production-without-match-key",
        "unknown-setting",
    ],
)
def test_bad_configuration_is_one_line_and_writes_nothing(
    env: dict[str, str], setting: str, isolated_var_dir: Path
) -> None:
    # seed needs every setting (database, keys); it must check them all before writing.
    result = _run(["seed"], {"CARE_VAR_DIR": str(isolated_var_dir), **env})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {setting}"), result.stderr
    assert "Traceback" not in result.stderr and "secret" not in result.stderr
    assert list(isolated_var_dir.iterdir()) == []


def test_migrate_with_a_wrong_url_names_the_setting(isolated_var_dir: Path) -> None:
    result = _run(
        ["migrate"],
        {
            "CARE_VAR_DIR": str(isolated_var_dir),
            "CARE_DATABASE_URL": "sqlite:////nonexistent-dir/care.db",
        },
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: CARE_DATABASE_URL: SQLite directory does not exist")


def test_migrate_and_seed_twice_give_the_same_counts(isolated_var_dir: Path) -> None:
    env = {"CARE_VAR_DIR": str(isolated_var_dir), "CARE_SYNTHETIC_CLIENTS": "60"}
    assert _run(["migrate"], env).returncode == 0
    first = _run(["seed", "--json"], env)
    second = _run(["seed", "--json"], env)
    assert first.returncode == 0 and first.stdout == second.stdout
    assert '"clients": 60' in first.stdout
    assert "generated a local development key" in first.stderr
    assert "generated" not in second.stderr


def test_leave_is_recorded_once_and_bad_input_names_the_field(isolated_var_dir: Path) -> None:
    env = {"CARE_VAR_DIR": str(isolated_var_dir), "CARE_SYNTHETIC_CLIENTS": "60"}
    assert _run(["migrate"], env).returncode == 0
    assert _run(["seed"], env).returncode == 0
    first = _run(["leave", "S0002", "2026-11-25", "--until", "2026-11-26"], env)
    again = _run(["leave", "S0002", "2026-11-25", "--until", "2026-11-26"], env)
    assert first.returncode == 0 and first.stdout == again.stdout, first.stderr
    assert "S0002: sick leave 2026-11-25..2026-11-26 recorded" in first.stdout
    assert '"plan": "current"' in first.stdout
    for args, field in [
        (["leave", "S9999", "2026-11-25"], "staff_code"),
        (["leave", "S0002", "2026-11-25", "--until", "2026-11-24"], "end_date"),
        (["leave", "S0002", "2026-11-25", "--reason", "bored"], "reason"),
    ]:
        bad = _run(args, env)
        assert bad.returncode == 2 and bad.stderr.startswith(f"error: {field}:"), bad.stderr
        assert "Traceback" not in bad.stderr
    malformed = _run(["leave", "S0002", "25/11/2026"], env)
    assert malformed.returncode == 2 and "not a date (YYYY-MM-DD)" in malformed.stderr


def test_check_names_every_missing_prerequisite_at_once(isolated_var_dir: Path) -> None:
    blocker = isolated_var_dir.parent / "a-file"
    blocker.write_text("not a folder")
    env = {
        "CARE_VAR_DIR": str(isolated_var_dir),
        "CARE_MODE": "production",
        "CARE_DATABASE_URL": "postgresql://care:secret@127.0.0.1:1/care",
        "CARE_OUTPUT_DIR": str(blocker / "out"),
    }
    result = _run(["check"], env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert [line.split(":")[0:2] for line in lines] == [
        ["error", " CARE_ENCRYPTION_KEYS"],
        ["error", " CARE_MATCH_KEY"],
        ["error", " CARE_TOKEN_KEY"],
        ["error", " CARE_DATABASE_URL"],
        ["error", " CARE_OUTPUT_DIR"],
    ], result.stderr
    assert "Traceback" not in result.stderr and "secret" not in result.stderr
    assert list(isolated_var_dir.iterdir()) == []  # no development key generated


def test_check_passes_with_the_bundled_font_and_a_writable_output(isolated_var_dir: Path) -> None:
    out = isolated_var_dir / "new" / "out"
    result = _run(["check"], {"CARE_VAR_DIR": str(isolated_var_dir), "CARE_OUTPUT_DIR": str(out)})
    assert result.returncode == 0, result.stderr
    assert "Korean font NanumGothic.ttf" in result.stdout
    assert out.is_dir() and list(out.iterdir()) == []  # the probe file is removed


def test_check_names_a_missing_korean_font(
    isolated_var_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from care_models import cli
    from care_models.rendering import fonts

    for name in [k for k in os.environ if k.startswith("CARE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CARE_VAR_DIR", str(isolated_var_dir))
    monkeypatch.setattr(fonts, "bundled_font_dirs", lambda: ())
    monkeypatch.setattr(fonts, "FONT_DIRS", ())
    monkeypatch.setattr(cli, "find_korean_font", lambda: fonts.find_korean_font(fonts.FONT_DIRS))
    assert cli.main(["check"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Korean font: none of NanumGothic.ttf")
    assert "koreanize-matplotlib" in lines[0] and "fonts-nanum" in lines[0]
