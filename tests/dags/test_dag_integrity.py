"""DAG integrity: every file imports cleanly, touches no database at parse time, keeps
heavy imports inside tasks, and every DAG has the attributes operations rely on."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from care_models.config import PROJECT_ROOT

DAGS_FOLDER = PROJECT_ROOT / "dags"
DAG_FILES = sorted(DAGS_FOLDER.glob("*.py"))
ALLOWED_TOP_LEVEL = set(sys.stdlib_module_names) | {"__future__", "airflow.sdk"}


def airflow_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CARE_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Seoul",
            "GX_ANALYTICS_ENABLED": "False",
            # A parse that tried to reach the care database would fail loudly on this.
            "CARE_DATABASE_URL": "postgresql+psycopg://nobody@192.0.2.1:9/never",
        }
    )
    return env


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    home = tmp_path_factory.mktemp("airflow-home")
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("inspect_dags.py")), str(DAGS_FOLDER)],
        env=airflow_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {entry["file"]: entry for entry in json.loads(result.stdout.splitlines()[-1])}


def _dags(parsed: dict[str, dict[str, object]]) -> list[dict[str, object]]:
    return [d for entry in parsed.values() for d in entry.get("dags", [])]  # type: ignore[union-attr]


def test_there_are_dags() -> None:
    assert DAG_FILES


@pytest.mark.parametrize("path", DAG_FILES, ids=[p.name for p in DAG_FILES])
def test_file_imports_without_error_or_database_access(
    path: Path, parsed: dict[str, dict[str, object]]
) -> None:
    entry = parsed[path.name]
    assert "error" not in entry, entry.get("error")
    assert entry["dags"], f"{path.name} defines no DAG"


@pytest.mark.parametrize("path", DAG_FILES, ids=[p.name for p in DAG_FILES])
def test_top_level_imports_are_stdlib_and_airflow_sdk_only(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        for name in names:
            allowed = name in ALLOWED_TOP_LEVEL or name.split(".")[0] in sys.stdlib_module_names
            assert allowed, f"{path.name}: top-level import of {name} (import it inside a task)"


@pytest.mark.parametrize("path", DAG_FILES, ids=[p.name for p in DAG_FILES])
def test_every_dag_declares_its_schedule_explicitly(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and getattr(n.func, "id", getattr(n.func, "attr", "")) in ("dag", "DAG")
    ]
    assert calls, f"{path.name}: no @dag or DAG(...)"
    for call in calls:
        assert "schedule" in {k.arg for k in call.keywords}, f"{path.name}: no schedule="


def test_every_dag_has_owner_tags_retries_catchup_off_and_docs(
    parsed: dict[str, dict[str, object]],
) -> None:
    for dag in _dags(parsed):
        name = dag["dag_id"]
        assert dag["owner"] and dag["owner"] != "airflow", f"{name}: owner"
        assert dag["tags"], f"{name}: tags"
        assert dag["catchup"] is False, f"{name}: catchup"
        assert dag["doc_md"], f"{name}: doc_md"
        assert min(dag["retries"]) >= 2, f"{name}: retries {dag['retries']}"  # type: ignore[call-overload]
        assert dag["max_active_runs"] == 1, f"{name}: max_active_runs"


def _dag(parsed: dict[str, dict[str, object]], dag_id: str) -> dict[str, object]:
    found = [d for d in _dags(parsed) if d["dag_id"] == dag_id]
    assert found, f"no DAG {dag_id}"
    return found[0]


def test_push_intake_does_not_wait_for_pulls_nor_for_callbacks(
    parsed: dict[str, dict[str, object]],
) -> None:
    """A slow or failing pull, or a dead callback endpoint, cannot hold up pushed referrals."""
    intake = _dag(parsed, "referral_intake")
    assert not [t for t in intake["task_ids"] if "pull" in t or "notify" in t]  # type: ignore[attr-defined]
    pull = _dag(parsed, "referral_pull")
    assert "care://referrals/received" in pull["outlets"]  # type: ignore[operator]
    assert "care://referrals/task-versions" in intake["outlets"]  # type: ignore[operator]


def test_callbacks_run_in_their_own_workflow_under_a_timeout(
    parsed: dict[str, dict[str, object]],
) -> None:
    callbacks = _dag(parsed, "hospital_callbacks")
    timeouts: dict[str, float] = callbacks["execution_timeouts"]  # type: ignore[assignment]
    assert set(timeouts) == set(callbacks["task_ids"])  # type: ignore[call-overload]
    assert all(0 < seconds <= 15 * 60 for seconds in timeouts.values())


def test_dag_ids_are_unique_and_all_run_by_the_demo(parsed: dict[str, dict[str, object]]) -> None:
    ids = [str(d["dag_id"]) for d in _dags(parsed)]
    assert len(ids) == len(set(ids))
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^DAGS_IN_ORDER := (.*)$", makefile, re.MULTILINE)
    assert match, "Makefile lists no DAGS_IN_ORDER"
    assert sorted(match.group(1).split()) == sorted(ids)
