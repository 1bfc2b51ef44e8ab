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

The stack's settings and layout are in care_sim/stack_settings.py, its processes (start,
stop, kill, session members, recorded PIDs) in care_sim/stack_processes.py; this module
brings it up and down and re-exports both. All three import the standard library only
at their top: Airflow imports this one in the workers for :func:`worker_hostname`.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

# The parts, re-exported: tests, benchmarks and the Makefile use them from here.
from care_sim.stack_processes import (
    Recorded,
    kill,
    pid_dir,
    recorded,
    session_members,
    start,
    stop,
)
from care_sim.stack_settings import (
    AIRFLOW_CREDENTIALS,
    BIN,
    CARE_CREDENTIALS,
    DEFAULT_POSTGRES,
    DEFAULT_REDIS,
    ENV_FILE,
    HOSTNAME_CALLABLE,
    ROOT,
    SECRET_SOURCES,
    WORKER_HOSTNAME_ENV,
    WORKER_QUEUES,
    WORKERS,
    Component,
    Layout,
    components,
    credentials,
    load_secrets,
    process_env,
    read_env_file,
    settings,
    translate,
)

__all__ = [
    "AIRFLOW_CREDENTIALS",
    "BIN",
    "CARE_CREDENTIALS",
    "DEFAULT_POSTGRES",
    "DEFAULT_REDIS",
    "ENV_FILE",
    "HOSTNAME_CALLABLE",
    "ROOT",
    "SECRET_SOURCES",
    "WORKERS",
    "WORKER_HOSTNAME_ENV",
    "WORKER_QUEUES",
    "Component",
    "Layout",
    "Recorded",
    "StackError",
    "admin_password",
    "api_health",
    "check_servers",
    "components",
    "credentials",
    "down",
    "drop_databases",
    "fresh_databases",
    "kill",
    "load_layout",
    "load_secrets",
    "main",
    "pid_dir",
    "ping_workers",
    "prepare",
    "process_env",
    "read_env_file",
    "recorded",
    "session_members",
    "settings",
    "start",
    "status",
    "stop",
    "translate",
    "up",
    "wait_for",
    "worker_hostname",
]


def worker_hostname() -> str:
    """The host Airflow records for a task (``[core] hostname_callable`` of the workers).

    In compose each worker is its own container, hence its own host name; here both
    share this machine's, so each worker is named by its Celery hostname.
    """
    return os.environ.get(WORKER_HOSTNAME_ENV) or socket.getfqdn()


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


# Redis database pairs a test or a benchmark may give its own stack (2-3 are `make stack`'s).
SPARE_REDIS_PAIRS = tuple(range(4, 16, 2))


def empty_redis_pair(redis_url: str, start: int = 0) -> int | None:
    """The first of two empty Redis databases among :data:`SPARE_REDIS_PAIRS`, looked for
    from the ``start``-th pair on (another stack keeps keys in its broker's); None if all
    are taken."""
    import redis

    pairs = SPARE_REDIS_PAIRS[start % len(SPARE_REDIS_PAIRS) :]
    pairs += SPARE_REDIS_PAIRS[: start % len(SPARE_REDIS_PAIRS)]
    for first in pairs:
        sizes = []
        for db in (first, first + 1):
            client = redis.Redis.from_url(f"{redis_url}/{db}")
            sizes.append(client.dbsize())
            client.close()
        if not any(sizes):
            return first
    return None


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
