"""The native stack's settings and layout (see care_sim/stack.py, `make stack`).

deploy/stack.env translated to this machine (compose host names to 127.0.0.1,
``/opt/care`` to the project), the credentials compose gives apart (local trust URLs and
the stack's secrets, from the environment or ``<run dir>/secrets.env``), where a stack
lives (:class:`Layout`) and the processes it runs (:func:`components`).

The standard library only at the top: Airflow imports care_sim.stack in the workers.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV_FILE = ROOT / "deploy" / "stack.env"
BIN = Path(sys.executable).parent
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379"

# The Celery queues every worker consumes (the compose worker's `--queues` too).
WORKER_QUEUES = "default,routing"
WORKERS = ("care-worker-1", "care-worker-2")
# Names the task instance's host after the worker that ran it (see worker_hostname).
WORKER_HOSTNAME_ENV = "STACK_WORKER_HOSTNAME"
HOSTNAME_CALLABLE = "AIRFLOW__CORE__HOSTNAME_CALLABLE"

# What docker-compose.yml gives its services apart from deploy/stack.env, because the
# values carry a password or a key: here computed (local trust URLs) or from `secrets.env`.
CARE_CREDENTIALS = ("CARE_DATABASE_URL", "CARE_ENCRYPTION_KEYS", "CARE_MATCH_KEY", "CARE_TOKEN_KEY")
AIRFLOW_CREDENTIALS = (
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC",
    "AIRFLOW__CELERY__RESULT_BACKEND",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
    "AIRFLOW__CORE__FERNET_KEY",
)
# setting -> the environment variable docker-compose.yml reads it from
SECRET_SOURCES = {
    "AIRFLOW__API_AUTH__JWT_SECRET": "AIRFLOW_JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY": "AIRFLOW_API_SECRET_KEY",
    "AIRFLOW__CORE__FERNET_KEY": "AIRFLOW_FERNET_KEY",
    "CARE_ENCRYPTION_KEYS": "CARE_ENCRYPTION_KEYS",
    "CARE_MATCH_KEY": "CARE_MATCH_KEY",
    "CARE_TOKEN_KEY": "CARE_TOKEN_KEY",
}


# -- settings ----------------------------------------------------------------------------


def read_env_file(path: Path = ENV_FILE) -> dict[str, str]:
    """KEY=value lines, as compose reads an env_file (comments and blank lines skipped)."""
    settings: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        key, sep, value = text.partition("=")
        if not sep or not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            raise ValueError(f"{path}:{number}: not a KEY=value line")
        settings[key] = value
    return settings


@dataclass(frozen=True)
class Layout:
    """Where this stack lives: its folder, names, ports and servers."""

    run_dir: Path
    name: str = "stack"
    port: int = 8080
    care_port: int = 8000
    redis_db: int = 2
    postgres: str = DEFAULT_POSTGRES
    redis: str = DEFAULT_REDIS
    overrides: dict[str, str] = field(default_factory=dict)
    max_retry_delay: float | None = None

    @property
    def airflow_home(self) -> Path:
        return self.run_dir / "airflow"

    @property
    def var_dir(self) -> Path:
        return self.run_dir / "var"

    @property
    def databases(self) -> tuple[str, str]:
        return f"airflow_{self.name}", f"care_{self.name}"

    def database_url(self, database: str) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.postgres).set(database=database).render_as_string(hide_password=False)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def care_api_url(self) -> str:
        return f"http://127.0.0.1:{self.care_port}"


def translate(key: str, value: str, layout: Layout) -> str:
    """A deploy/stack.env value, from the compose network to this machine."""
    redis_host = layout.redis.rstrip("/")

    def redis_db(match: re.Match[str]) -> str:
        return f"{redis_host}/{layout.redis_db + int(match.group(1))}"

    value = re.sub(r"redis://(?::@)?redis:6379/(\d+)", redis_db, value)
    value = value.replace("http://airflow-apiserver:8080/", f"{layout.api_url}/")
    value = value.replace("/opt/care/var", str(layout.var_dir)).replace("/opt/care", str(ROOT))
    if key == "AIRFLOW__API__HOST":
        value = "127.0.0.1"
    if key == "AIRFLOW__API__PORT":
        value = str(layout.port)
    return value


def credentials(layout: Layout, secret: Mapping[str, str]) -> dict[str, str]:
    """The settings compose gives apart: local trust URLs, and the stack's secrets."""
    metadata, care = layout.databases
    metadata_url = layout.database_url(metadata)
    return {
        # psycopg (3), the project's own driver, serves Airflow's async engine too
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": metadata_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{metadata_url}",
        "CARE_DATABASE_URL": layout.database_url(care),
        **{key: secret[key] for key in SECRET_SOURCES},
    }


def settings(
    layout: Layout, secret: Mapping[str, str], *, care_api: bool = False
) -> dict[str, str]:
    """Every AIRFLOW__/CARE_ setting a process gets: deploy/stack.env translated, and the
    credentials (the care API's without Airflow's, as in compose)."""
    values = {key: translate(key, value, layout) for key, value in read_env_file().items()}
    given = credentials(layout, secret)
    for key in CARE_CREDENTIALS if care_api else (*AIRFLOW_CREDENTIALS, *CARE_CREDENTIALS):
        values[key] = given[key]
    if not care_api:
        values.update(layout.overrides)
    return values


def process_env(
    layout: Layout, secret: Mapping[str, str], *, care_api: bool = False, worker: str = ""
) -> dict[str, str]:
    """A process's whole environment: this one's, less any AIRFLOW/CARE_ variable, plus
    the stack's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CARE_"))}
    env.update(settings(layout, secret, care_api=care_api))
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join((str(ROOT), str(ROOT / "plugins")))
    env["PYTHONUNBUFFERED"] = "1"
    if not care_api:
        env["AIRFLOW_HOME"] = str(layout.airflow_home)
    if worker:
        env[HOSTNAME_CALLABLE] = "care_sim.stack.worker_hostname"
        env[WORKER_HOSTNAME_ENV] = worker
    return env


def load_secrets(run_dir: Path) -> dict[str, str]:
    """The stack's secrets: from the environment, else from or into ``secrets.env``."""
    path = run_dir / "secrets.env"
    stored = read_env_file(path) if path.is_file() else {}
    found: dict[str, str] = {}
    for key, source in SECRET_SOURCES.items():
        found[key] = os.environ.get(source) or stored.get(key) or _generate(key)
    if {k: stored.get(k) for k in found} != found:
        run_dir.mkdir(parents=True, exist_ok=True)
        lines = ["# Generated by care_sim.stack: the stack's secrets (keep private)."]
        lines += [f"{key}={value}" for key, value in found.items()]
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return found


def _generate(key: str) -> str:
    if key == "AIRFLOW__CORE__FERNET_KEY":
        from cryptography.fernet import Fernet

        return Fernet.generate_key().decode()
    if key.startswith("CARE_"):
        from care_models.privacy import generate_key

        return generate_key()
    return secrets.token_urlsafe(32)


# -- processes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Component:
    name: str
    argv: tuple[str, ...]
    care_api: bool = False
    worker: str = ""


def components(layout: Layout) -> list[Component]:
    airflow = str(BIN / "airflow")
    workers = [
        Component(
            name,
            # Logs are files on this one machine, read by the API server directly; two
            # log servers would also want the same port.
            (
                airflow,
                "celery",
                "worker",
                "--celery-hostname",
                name,
                "--queues",
                WORKER_QUEUES,
                "--skip-serve-logs",
            ),
            worker=name,
        )
        for name in WORKERS
    ]
    return [
        Component("api-server", (airflow, "api-server")),
        Component("scheduler", (airflow, "scheduler")),
        Component("dag-processor", (airflow, "dag-processor")),
        Component("triggerer", (airflow, "triggerer")),
        *workers,
        Component(
            "care-api",
            (
                sys.executable,
                "-m",
                "care_api.serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(layout.care_port),
                "--workers",
                "1",
            ),
            care_api=True,
        ),
    ]
