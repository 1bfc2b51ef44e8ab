"""The compose file's CeleryExecutor stack, natively on this machine (`make stack`).

    python -m care_sim.stack up   [--run-dir var/stack] [--name stack] [--port 8080]
                                  [--care-port 8000] [--redis-db 2]
    python -m care_sim.stack down [--run-dir var/stack] [--drop]
    python -m care_sim.stack status [--run-dir var/stack]

``up`` starts the processes docker-compose.yml names, from the same settings
(deploy/stack.env, translated to this machine: see its header):

- the metadata database ``airflow_<name>`` and the care database ``care_<name>``, made
  afresh on the local PostgreSQL (``--postgres``; the metadata database is also the
  Celery result backend), both migrated, the care database seeded with the synthetic
  county (the seed alone runs in development mode: production refuses it);
- the broker: the local Redis, its databases ``--redis-db`` and the next one (the rate
  limits) emptied first;
- ``airflow api-server`` (127.0.0.1:``--port``), ``scheduler``, ``dag-processor``,
  ``triggerer``, two ``airflow celery worker``s (``care-worker-1`` and ``care-worker-2``,
  each on the queues ``default,routing`` with two slots) and the care API
  (``python -m care_api.serve`` on 127.0.0.1:``--care-port``).

Each runs in its own session, its output in ``<run dir>/logs/<name>.log``, its PID
(and start time, so a recycled PID is never signalled) in ``<run dir>/pids/``. ``up``
waits until the API server reports the metadata database, scheduler, DAG processor and
triggerer healthy, both workers answer a Celery ping and the care API its metadata,
then prints where the UI is and the admin's login. ``down`` sends each recorded process
group SIGTERM (a worker finishes its tasks), SIGKILL to everything left in its session
(task runners included) after ``--grace`` seconds, and waits until none is left;
``--drop`` then drops both databases and empties the Redis databases.

Secrets are not in deploy/stack.env: they come from the environment under the names
docker-compose.yml reads (AIRFLOW_JWT_SECRET, AIRFLOW_API_SECRET_KEY,
AIRFLOW_FERNET_KEY, CARE_ENCRYPTION_KEYS, CARE_MATCH_KEY, CARE_TOKEN_KEY), or are
generated once into ``<run dir>/secrets.env`` (0600). The admin's password is generated
by the API server into ``<run dir>/airflow/simple_auth_manager_passwords.json.generated``.

For tests only: ``--set KEY=VALUE`` adds an Airflow setting (e.g. a short heartbeat
timeout) and ``--max-retry-delay S`` caps every task's retry delay with a cluster policy
(``<run dir>/airflow/config/airflow_local_settings.py``), so that a retry after a
worker's death comes within the test's time.

The module imports the standard library only at its top: Airflow imports it in the
workers for :func:`worker_hostname`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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


def worker_hostname() -> str:
    """The host Airflow records for a task (``[core] hostname_callable`` of the workers).

    In compose each worker is its own container, hence its own host name; here both
    share this machine's, so each worker is named by its Celery hostname.
    """
    return os.environ.get(WORKER_HOSTNAME_ENV) or socket.getfqdn()


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


@dataclass(frozen=True)
class Recorded:
    """A started process: its PID (also its process group) and start time."""

    name: str
    pid: int
    started: str

    def alive(self) -> bool:
        return _start_time(self.pid) == self.started


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return fields[19]


def session_members(sid: int) -> list[int]:
    """Live (not zombie) processes of a session: a component and everything it started,
    task runners included (Airflow puts each in a process group of its own)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[3]) == sid:
            members.append(int(entry.name))
    return members


def kill(process: Recorded, wait: float = 10.0) -> list[int]:
    """SIGKILL every process of the component's session at once (as if its host died),
    and wait until they are gone; the PIDs killed."""
    if not process.alive():
        return []
    members = session_members(process.pid)
    for pid in members:
        with _no_such_process():
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + wait
    while session_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return members


def pid_dir(run_dir: Path) -> Path:
    return run_dir / "pids"


def recorded(run_dir: Path) -> list[Recorded]:
    found = []
    for path in sorted(pid_dir(run_dir).glob("*.pid")):
        pid, _, started = path.read_text().strip().partition(" ")
        found.append(Recorded(path.stem, int(pid), started))
    return found


def start(component: Component, layout: Layout, secret: Mapping[str, str]) -> Recorded:
    logs = layout.run_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    pid_dir(layout.run_dir).mkdir(parents=True, exist_ok=True)
    env = process_env(layout, secret, care_api=component.care_api, worker=component.worker)
    with (logs / f"{component.name}.log").open("ab") as log:
        process = subprocess.Popen(
            component.argv,
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: down signals the whole group
        )
    started = _start_time(process.pid) or ""
    (pid_dir(layout.run_dir) / f"{component.name}.pid").write_text(f"{process.pid} {started}\n")
    return Recorded(component.name, process.pid, started)


def stop(process: Recorded, grace: float = 30.0) -> None:
    """SIGTERM to the component's process group (if its leader is still the process
    started: a Celery worker then finishes its tasks), then wait until nothing of its
    session is left; SIGKILL to the whole session after ``grace`` seconds."""
    if process.alive():
        with _no_such_process():
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while members := session_members(process.pid):
        if time.monotonic() > deadline:
            for pid in members:
                with _no_such_process():
                    os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)


def _no_such_process() -> suppress:
    return suppress(ProcessLookupError)


# -- waiting -----------------------------------------------------------------------------


class StackError(RuntimeError):
    """The stack could not be brought up (the message names the process and its log)."""


def _log_tail(layout: Layout, name: str, lines: int = 25) -> str:
    path = layout.run_dir / "logs" / f"{name}.log"
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_for(
    what: str,
    check: Callable[[], bool],
    started: Sequence[Recorded],
    layout: Layout,
    timeout: float,
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        for process in started:
            if not process.alive():
                raise StackError(
                    f"{process.name} exited (log {layout.run_dir / 'logs' / process.name}.log):\n"
                    + _log_tail(layout, process.name)
                )
        try:
            if check():
                return
        except Exception:  # not up yet: refused connections, partial answers
            pass
        if time.monotonic() > deadline:
            raise StackError(f"{what}: not ready after {timeout:.0f} s")
        time.sleep(1)


def api_health(layout: Layout) -> dict[str, Any]:
    import httpx

    return dict(httpx.get(f"{layout.api_url}/api/v2/monitor/health", timeout=5).json())


def _healthy(layout: Layout) -> bool:
    health = api_health(layout)
    parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
    return all((health.get(part) or {}).get("status") == "healthy" for part in parts)


def ping_workers(layout: Layout, timeout: float = 2.0) -> set[str]:
    """The Celery hostnames that answer a ping on the stack's broker."""
    from celery import Celery

    broker = translate("", read_env_file()["AIRFLOW__CELERY__BROKER_URL"], layout)
    app = Celery(broker=broker)
    try:
        replies = app.control.ping(timeout=timeout) or []
    finally:
        app.close()
    return {name.partition("@")[2] for reply in replies for name in reply}


def _care_api_up(layout: Layout) -> bool:
    import httpx

    return httpx.get(f"{layout.care_api_url}/fhir/metadata", timeout=5).status_code == 200


def admin_password(layout: Layout) -> str | None:
    path = layout.airflow_home / "simple_auth_manager_passwords.json.generated"
    try:
        return str(json.loads(path.read_text())["admin"])
    except (OSError, ValueError, KeyError):
        return None


# -- up and down -------------------------------------------------------------------------


def _run_logged(
    argv: Sequence[str], env: Mapping[str, str], log: Path, timeout: float = 600
) -> None:
    with log.open("wb") as handle:
        result = subprocess.run(
            argv, env=dict(env), cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, timeout=timeout
        )
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise StackError(f"{' '.join(argv[:4])} failed (log {log}):\n{tail}")


def fresh_databases(layout: Layout) -> None:
    """Drop and create ``airflow_<name>`` and ``care_<name>``; empty the Redis databases."""
    from sqlalchemy import create_engine, text

    admin = create_engine(layout.postgres, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for database in layout.databases:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{database}"'))
    finally:
        admin.dispose()
    _flush_redis(layout)


def drop_databases(layout: Layout) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(layout.postgres, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for database in layout.databases:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    finally:
        admin.dispose()
    _flush_redis(layout)


def _flush_redis(layout: Layout) -> None:
    import redis

    for offset in (0, 1):  # the broker, the care API's rate limits
        client = redis.Redis.from_url(f"{layout.redis.rstrip('/')}/{layout.redis_db + offset}")
        try:
            client.flushdb()
        finally:
            client.close()


def check_servers(layout: Layout) -> None:
    """PostgreSQL and Redis answer, or StackError saying which does not."""
    import redis
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(layout.postgres)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        raise StackError(f"PostgreSQL not reachable at {layout.postgres}: {exc}") from exc
    try:
        client = redis.Redis.from_url(layout.redis, socket_connect_timeout=3)
        client.ping()
        client.close()
    except Exception as exc:
        raise StackError(f"Redis not reachable at {layout.redis}: {exc}") from exc


def _write_policy(layout: Layout) -> None:
    config = layout.airflow_home / "config"
    path = config / "airflow_local_settings.py"
    if layout.max_retry_delay is None:
        path.unlink(missing_ok=True)
        return
    config.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '"""Written by `care_sim.stack up --max-retry-delay` (tests only): caps every\n'
        'task\'s retry delay, so a retry after a worker\'s death comes within a test."""\n\n'
        "import datetime as dt\n\n"
        f"MAX_RETRY_DELAY = dt.timedelta(seconds={float(layout.max_retry_delay)!r})\n\n\n"
        "def task_policy(task):\n"
        "    if task.retry_delay > MAX_RETRY_DELAY:\n"
        "        task.retry_delay = MAX_RETRY_DELAY\n",
        encoding="utf-8",
    )


def prepare(layout: Layout, secret: Mapping[str, str]) -> None:
    """Fresh databases, both migrated (in parallel), the care database seeded."""
    logs = layout.run_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    layout.var_dir.mkdir(parents=True, exist_ok=True)
    layout.airflow_home.mkdir(parents=True, exist_ok=True)
    _write_policy(layout)
    fresh_databases(layout)
    airflow_env = process_env(layout, secret)
    care_env = process_env(layout, secret, care_api=True)
    seed_env = {**care_env, "CARE_MODE": "development"}  # production refuses the seed

    def care() -> None:
        python = sys.executable
        _run_logged([python, "-m", "care_models", "migrate"], care_env, logs / "care-migrate.log")
        _run_logged([python, "-m", "care_models", "seed"], seed_env, logs / "care-seed.log")

    with ThreadPoolExecutor(2) as pool:
        jobs = [
            pool.submit(
                _run_logged,
                [str(BIN / "airflow"), "db", "migrate"],
                airflow_env,
                logs / "airflow-db-migrate.log",
            ),
            pool.submit(care),
        ]
        for job in jobs:
            job.result()


def up(layout: Layout, *, timeout: float = 240.0, echo: Callable[[str], None] = print) -> None:
    running = [p for p in recorded(layout.run_dir) if p.alive()]
    if running:
        names = ", ".join(p.name for p in running)
        raise StackError(
            f"a stack is running from {layout.run_dir} ({names}): stop it first (make stack-down)"
        )
    for stale in pid_dir(layout.run_dir).glob("*.pid"):
        stale.unlink()
    check_servers(layout)
    secret = load_secrets(layout.run_dir)
    metadata, care = layout.databases
    began = time.monotonic()

    def step(text: str) -> None:
        echo(f"==> {text} ({time.monotonic() - began:.0f} s)")

    prepare(layout, secret)
    step(f"fresh databases {metadata} and {care}, migrated; the synthetic county seeded")
    (layout.run_dir / "stack.json").write_text(
        json.dumps({**asdict(layout), "run_dir": str(layout.run_dir)}, indent=2) + "\n"
    )
    started: list[Recorded] = []
    try:
        # All at once: what needs the API server (the triggerer, tasks on the workers)
        # waits for it by itself.
        everything = components(layout)
        step("starting " + ", ".join(c.name for c in everything))
        started += [start(c, layout, secret) for c in everything]
        wait_for(
            "the API server",
            lambda: api_health(layout).get("metadatabase", {}).get("status") == "healthy",
            started,
            layout,
            timeout,
        )
        wait_for("the care API", lambda: _care_api_up(layout), started, layout, timeout)
        wait_for(
            "the scheduler, DAG processor and triggerer",
            lambda: _healthy(layout),
            started,
            layout,
            timeout,
        )
        wait_for(
            "both Celery workers",
            lambda: set(WORKERS) <= ping_workers(layout),
            started,
            layout,
            timeout,
        )
    except BaseException:
        for process in started:
            stop(process, grace=10)
        raise
    password = admin_password(layout) or "(see the file below)"
    step(f"the stack is up; logs and PIDs in {layout.run_dir}/logs and /pids")
    echo(f"    Airflow UI and REST API: {layout.api_url}  (admin / {password})")
    echo(f"      password file: {layout.airflow_home}/simple_auth_manager_passwords.json.generated")
    echo(f"    care API: {layout.care_api_url}   workers: {', '.join(WORKERS)} on {WORKER_QUEUES}")
    echo("    stop it: make stack-down")


def down(
    layout: Layout, *, grace: float = 30.0, drop: bool = False, echo: Callable[[str], None] = print
) -> None:
    processes = [p for p in recorded(layout.run_dir) if p.alive() or session_members(p.pid)]
    # Workers first (a warm shutdown finishes their tasks), the API server last.
    order = {name: n for n, name in enumerate((*WORKERS, "triggerer", "scheduler"))}
    processes.sort(key=lambda p: (order.get(p.name, 10), p.name == "api-server"))
    with ThreadPoolExecutor(max(1, len(processes))) as pool:
        for process in processes:
            pool.submit(stop, process, grace)
    for path in pid_dir(layout.run_dir).glob("*.pid"):
        path.unlink()
    echo(f"==> stopped {len(processes)} processes" + (": " if processes else ""))
    if processes:
        echo("    " + ", ".join(p.name for p in processes))
    if drop:
        drop_databases(layout)
        echo(f"==> dropped {' and '.join(layout.databases)}")


def status(layout: Layout, echo: Callable[[str], None] = print) -> int:
    processes = recorded(layout.run_dir)
    for process in processes:
        state = "running" if process.alive() else "gone"
        echo(f"{process.name:<14} {process.pid:>8} {state}")
    if not processes:
        echo(f"no stack recorded in {layout.run_dir}")
    return 0 if processes and all(p.alive() for p in processes) else 1


# -- command line ------------------------------------------------------------------------


def load_layout(run_dir: Path) -> Layout | None:
    """The layout ``up`` used in ``run_dir`` (its ports and names), if it was brought up."""
    saved = run_dir / "stack.json"
    if not saved.is_file():
        return None
    stored = json.loads(saved.read_text())
    stored["run_dir"] = run_dir
    return Layout(**stored)


def layout_from(args: argparse.Namespace) -> Layout:
    run_dir = Path(args.run_dir).resolve()
    if args.command != "up" and (saved := load_layout(run_dir)) is not None:
        return saved
    overrides = dict(item.split("=", 1) for item in getattr(args, "set", None) or [])
    for key in overrides:
        if not key.startswith("AIRFLOW__"):
            raise SystemExit(f"error: --set takes Airflow settings (AIRFLOW__...), not {key}")
    return Layout(
        run_dir=run_dir,
        name=args.name,
        port=args.port,
        care_port=args.care_port,
        redis_db=args.redis_db,
        postgres=args.postgres,
        redis=args.redis,
        overrides=overrides,
        max_retry_delay=getattr(args, "max_retry_delay", None),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m care_sim.stack", description=__doc__)
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--run-dir", default=str(ROOT / "var" / "stack"))
    parser.add_argument("--name", default="stack", help="databases airflow_NAME and care_NAME")
    parser.add_argument("--port", type=int, default=8080, help="the Airflow API server's")
    parser.add_argument("--care-port", type=int, default=8000, help="the care API's")
    parser.add_argument("--redis-db", type=int, default=2, help="the broker's Redis database")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="an administrator's URL")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="the Redis server")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="(tests)")
    parser.add_argument("--max-retry-delay", type=float, help="(tests) seconds")
    parser.add_argument("--grace", type=float, default=30.0, help="down: seconds before SIGKILL")
    parser.add_argument("--drop", action="store_true", help="down: drop the databases too")
    args = parser.parse_args(argv)
    layout = layout_from(args)
    try:
        if args.command == "up":
            up(layout)
        elif args.command == "down":
            down(layout, grace=args.grace, drop=args.drop)
        else:
            return status(layout)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
