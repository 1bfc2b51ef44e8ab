"""One settings file for both forms of the CeleryExecutor stack: docker-compose.yml and
`make stack` (care_sim/stack.py) give each process the same settings' keys.

No process is started: compose's environment is read from the file as compose makes it
(env_file, then environment), the native one from the functions `make stack` uses.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import yaml

from care_models.config import PROJECT_ROOT
from care_sim import stack as native

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
PREFIXES = ("AIRFLOW__", "CARE_", "GX_")
# compose service -> the native processes that are it
SERVICES = {
    "airflow-apiserver": ("api-server",),
    "airflow-scheduler": ("scheduler",),
    "airflow-dag-processor": ("dag-processor",),
    "airflow-triggerer": ("triggerer",),
    "airflow-worker": native.WORKERS,
    "care-api": ("care-api",),
}
SECRETS = {key: f"secret-{n}" for n, key in enumerate(native.SECRET_SOURCES)}


def _services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"])


def _compose_env(service: dict[str, Any]) -> dict[str, str]:
    files = service.get("env_file", [])
    env: dict[str, str] = {}
    for entry in [files] if isinstance(files, str) else files:
        env.update(native.read_env_file(PROJECT_ROOT / entry))
    env.update(service.get("environment", {}))
    return {k: str(v) for k, v in env.items() if k.startswith(PREFIXES)}


def _layout(tmp_path: Path) -> native.Layout:
    return native.Layout(run_dir=tmp_path / "stack", port=18080, care_port=18000)


def _native_env(tmp_path: Path, name: str) -> dict[str, str]:
    (component,) = [c for c in native.components(_layout(tmp_path)) if c.name == name]
    env = native.process_env(
        _layout(tmp_path), SECRETS, care_api=component.care_api, worker=component.worker
    )
    return {k: v for k, v in env.items() if k.startswith(PREFIXES)}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_compose_and_make_stack_give_each_process_the_same_keys(
    service: str, tmp_path: Path
) -> None:
    compose = _compose_env(_services()[service])
    assert compose, service
    for name in SERVICES[service]:
        assert set(_native_env(tmp_path, name)) == set(compose), name


def test_both_read_every_setting_from_the_one_env_file() -> None:
    shared = native.read_env_file()
    assert shared and all(k.startswith(PREFIXES) for k in shared)
    for name, service in _services().items():
        if name in SERVICES or name == "airflow-init":
            assert service.get("env_file") == ["./deploy/stack.env"], name
            given = set(service.get("environment", {}))
            # compose adds only what carries a password or a key (and container plumbing)
            assert not {k for k in given if k.startswith(PREFIXES)} - {
                *native.AIRFLOW_CREDENTIALS,
                *native.CARE_CREDENTIALS,
            }, name


def test_the_env_file_holds_no_secret_and_nothing_compose_would_interpolate() -> None:
    shared = native.read_env_file()
    assert not set(shared) & set(native.SECRET_SOURCES)
    assert not set(shared) & {*native.AIRFLOW_CREDENTIALS, *native.CARE_CREDENTIALS}
    for key, value in shared.items():
        assert "$" not in value and "@" not in value and not value.startswith(("'", '"')), key


def test_natively_the_compose_names_are_translated_to_this_machine(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    for name in ("api-server", "care-worker-1", "care-api"):
        env = _native_env(tmp_path, name)
        for key, value in env.items():
            for compose_name in ("redis:6379", "airflow-apiserver", "/opt/care", "@postgres/"):
                assert compose_name not in value, (name, key, value)
    env = _native_env(tmp_path, "scheduler")
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://127.0.0.1:6379/2"
    assert env["CARE_RATE_LIMIT_STORAGE"] == "redis://127.0.0.1:6379/3"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18080/execution/"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(PROJECT_ROOT / "dags")
    assert env["CARE_VAR_DIR"] == str(layout.var_dir)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("/airflow_stack")
    assert env["CARE_DATABASE_URL"].endswith("/care_stack")
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == SECRETS["AIRFLOW__API_AUTH__JWT_SECRET"]
    # each worker is named for what it runs (task instance hostname)
    worker = native.process_env(layout, SECRETS, worker="care-worker-2")
    assert worker["AIRFLOW__CORE__HOSTNAME_CALLABLE"] == "care_sim.stack.worker_hostname"
    assert worker[native.WORKER_HOSTNAME_ENV] == "care-worker-2"
    # the care API gets no Airflow credential
    care = _native_env(tmp_path, "care-api")
    assert not set(care) & set(native.AIRFLOW_CREDENTIALS)


def test_the_native_stack_runs_the_compose_file_s_long_running_services(tmp_path: Path) -> None:
    services = _services()
    names = {c.name for c in native.components(_layout(tmp_path))}
    assert names == {name for names in SERVICES.values() for name in names}
    long_running = {
        name for name in services if name.startswith("airflow-") and name != "airflow-init"
    }
    assert long_running | {"care-api"} == set(SERVICES)
    assert len(native.WORKERS) == 2


def test_workers_consume_the_same_queues_and_the_solves_have_their_own(tmp_path: Path) -> None:
    command = _services()["airflow-worker"]["command"].split()
    queues = command[command.index("--queues") + 1]
    assert queues == native.WORKER_QUEUES == "default,routing"
    for component in native.components(_layout(tmp_path)):
        if component.worker:
            argv = list(component.argv)
            assert argv[argv.index("--queues") + 1] == queues
            assert argv[argv.index("--celery-hostname") + 1] == component.worker
    assert native.read_env_file()["AIRFLOW__OPERATORS__DEFAULT_QUEUE"] == "default"
    solve = _task_keywords(PROJECT_ROOT / "dags" / "home_visit_planning.py", "solve")
    assert solve["queue"] == "routing"
    # fewer solves at once than the two workers' four slots: one is always free (unless
    # AIRFLOW__CARE__ROUTING_SOLVES_AT_ONCE says otherwise: bench/scale.py)
    assert solve["max_active_tis_per_dag"] == "SOLVES_AT_ONCE"
    at_once = _solves_at_once(PROJECT_ROOT / "dags" / "home_visit_planning.py")
    assert at_once.replace(" ", "") == (
        "int(os.environ.get('AIRFLOW__CARE__ROUTING_SOLVES_AT_ONCE')or2)"
    )
    assert "AIRFLOW__CARE__ROUTING_SOLVES_AT_ONCE" not in native.read_env_file()
    slots = int(native.read_env_file()["AIRFLOW__CELERY__WORKER_CONCURRENCY"])
    assert slots * len(native.WORKERS) > 2  # the default of SOLVES_AT_ONCE


def _task_keywords(path: Path, name: str) -> dict[str, Any]:
    """The keywords of the @task decorator of the function ``name``: literals as values,
    anything else as its source."""

    def value(node: ast.expr) -> Any:
        try:
            return ast.literal_eval(node)
        except ValueError:
            return ast.unparse(node)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call):
                    return {k.arg: value(k.value) for k in decorator.keywords if k.arg}
    raise AssertionError(f"no @task(...) on {name} in {path}")


def _solves_at_once(path: Path) -> str:
    """The source of the module-level SOLVES_AT_ONCE of a DAG file."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == [
            "SOLVES_AT_ONCE"
        ]:
            return ast.unparse(node.value)
    raise AssertionError(f"no SOLVES_AT_ONCE in {path}")
