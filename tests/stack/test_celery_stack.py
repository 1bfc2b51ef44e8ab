"""The compose file's CeleryExecutor stack, run natively (`make stack`) and driven as an
administrator drives it: through Airflow's REST API, with a token from the auth manager.

One stack for the module (``python -m care_sim.stack up``, as ``make stack`` runs it, on
its own ports, databases and Redis databases; ``down --drop`` at the end):

1. the hospitals' care API of the stack takes referrals; every workflow is unpaused and
   triggered (``POST /api/v2/dags/{id}/dagRuns`` with a logical date) and succeeds, with
   the simulators of the outside world (FHIR server, device vendors, SMS gateway, mail
   relay) as Connections created through the REST API;
2. the per-town solves of home_visit_planning ran on the ``routing`` queue, on both
   workers (task instance ``hostname``);
3. a worker is SIGKILLed (its whole session, as a crashed host) in the middle of a task:
   Airflow sees the task's heartbeats stop, retries it on the other worker, and the run
   ends with the same stored plan, visits and unplanned contacts, and the same result,
   as the undisturbed run just before it on the same inputs.

Settings of the test stack only: it creates no runs of its own (no schedules, no
Asset-triggered runs: ``use_job_schedule`` off), so only the test's runs run; the
heartbeat timeout is 30 s (300 by default) and every retry delay is capped at 3 s by a
cluster policy (home_visit_planning waits 2 minutes), so the retry comes within the
test's time.

Skipped when PostgreSQL or Redis is unreachable, unless CARE_TEST_REQUIRE_POSTGRES=1 (CI),
where it fails.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from care_models.config import PROJECT_ROOT, load_settings
from care_sim import stack as native
from tests.conftest import DEFAULT_PG, TEST_KEYS

pytestmark = [pytest.mark.airflow, pytest.mark.postgres]

REDIS = "redis://127.0.0.1:6379"
# Redis databases for the test stack's broker and rate limits: a pair from 4-5 to 14-15
# (0 is other tests', 2-3 `make stack`'s), one that no other stack is using.
PLANNING = "home_visit_planning"
PULL_HOSPITAL = "H-CJ-UNI"
RUN_TIMEOUT = 240.0
# Stored by the planning workflow: what "the same state" compares.
PLAN_TABLES = ("visit_plans", "visits", "unplanned_contacts")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_pair() -> int:
    """The first of two empty Redis databases (another test run's stack holds keys in
    its broker's), looked for from a place of this process's own."""
    first = native.empty_redis_pair(REDIS, os.getpid())
    return first if first is not None else native.SPARE_REDIS_PAIRS[0]


def _unreachable() -> str | None:
    """Why the stack cannot run here (PostgreSQL or Redis down), or None."""
    import redis

    try:
        engine = create_engine(os.environ.get("CARE_TEST_POSTGRES_URL", DEFAULT_PG))
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL not reachable at CARE_TEST_POSTGRES_URL: {type(exc).__name__}"
    try:
        client = redis.Redis.from_url(REDIS, socket_connect_timeout=3)
        client.ping()
        client.close()
    except Exception as exc:
        return f"Redis not reachable at {REDIS}: {type(exc).__name__}"
    return None


@dataclass
class Stack:
    layout: native.Layout
    api: httpx.Client
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)  # dag_id -> our run
    reference: tuple[dict[str, list[tuple[Any, ...]]], Any] | None = None

    def get(self, path: str, **params: Any) -> Any:
        answer = self.api.get(path, params=params)
        assert answer.status_code == 200, f"GET {path}: {answer.status_code} {answer.text[:300]}"
        return answer.json()

    def processes(self) -> dict[str, native.Recorded]:
        return {p.name: p for p in native.recorded(self.layout.run_dir)}

    def log_tail(self, name: str) -> str:
        path = self.layout.run_dir / "logs" / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-40:])

    # -- runs -----------------------------------------------------------------------

    def set_paused(self, dag_id: str, paused: bool) -> None:
        answer = self.api.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": paused})
        assert answer.status_code == 200, answer.text[:300]

    def trigger(self, dag_id: str, logical_date: dt.datetime, conf: dict[str, Any]) -> str:
        answer = self.api.post(
            f"/api/v2/dags/{dag_id}/dagRuns",
            json={"logical_date": logical_date.isoformat(), "conf": conf},
        )
        assert answer.status_code == 200, f"trigger {dag_id}: {answer.text[:300]}"
        return str(answer.json()["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        found = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=500)
        return list(found["task_instances"])

    def wait(self, runs: dict[str, str], timeout: float = RUN_TIMEOUT) -> dict[str, str]:
        """Wait until each (dag_id -> run_id) has ended; their states."""
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = {dag: self.run_state(dag, run) for dag, run in runs.items()}
            if all(state in ("success", "failed") for state in states.values()):
                return states
            time.sleep(2)
        return states

    def active_runs(self) -> list[str]:
        found = self.get("/api/v2/dags/~/dagRuns", state=["queued", "running"], limit=100)
        return [f"{r['dag_id']} {r['dag_run_id']}" for r in found["dag_runs"]]

    def failure_report(self, dag_id: str, run_id: str) -> str:
        """The failed task instances of a run, each with the end of its log."""
        lines = [f"{dag_id} {run_id}: {self.run_state(dag_id, run_id)}"]
        for ti in self.task_instances(dag_id, run_id):
            lines.append(f"  {ti['task_id']}[{ti['map_index']}] {ti['state']} {ti['hostname']}")
            if ti["state"] in ("failed", "up_for_retry") and ti["try_number"]:
                path = (
                    f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}"
                    f"/logs/{ti['try_number']}"
                )
                answer = self.api.get(path, params={"map_index": ti["map_index"]})
                content = answer.json().get("content", []) if answer.status_code == 200 else []
                events = [
                    str(e.get("event", e)) if isinstance(e, dict) else str(e) for e in content
                ]
                lines += ["    " + line for line in events[-15:]]
        return "\n".join(lines)

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries"
        return self.get(f"{path}/return_value", deserialize=True)["value"]

    def plan_rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of the planning workflow's tables, in a stable order."""
        engine = create_engine(self.layout.database_url(self.layout.databases[1]))
        try:
            with engine.connect() as connection:
                return {
                    table: [
                        tuple(row)
                        for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY id"))
                    ]
                    for table in PLAN_TABLES
                }
        finally:
            engine.dispose()


def _token(base: str, password: str) -> str:
    answer = httpx.post(
        f"{base}/auth/token", json={"username": "admin", "password": password}, timeout=10
    )
    assert answer.status_code in (200, 201), answer.text[:300]
    return str(answer.json()["access_token"])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    reason = _unreachable()
    if reason:
        if os.environ.get("CARE_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    run_dir = tmp_path_factory.mktemp("stack")
    command = [sys.executable, "-m", "care_sim.stack"]
    where = ["--run-dir", str(run_dir)]
    up = [
        *command,
        "up",
        *where,
        "--name",
        f"test_{os.getpid()}",
        "--port",
        str(_free_port()),
        "--care-port",
        str(_free_port()),
        "--redis-db",
        str(_redis_pair()),
        "--postgres",
        os.environ.get("CARE_TEST_POSTGRES_URL", DEFAULT_PG),
        # only the runs the test triggers: no schedules, no Asset-triggered runs
        "--set",
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE=False",
        "--set",
        f"AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT={_free_port()}",
        "--set",
        f"AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT={_free_port()}",
        "--set",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT=30",
        "--set",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL=2",
        "--max-retry-delay",
        "3",
    ]
    env = {**os.environ, **TEST_KEYS}  # the stack takes its care keys from here
    try:
        started = subprocess.run(
            up, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=420
        )
        assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-4000:]
        layout = native.load_layout(run_dir)
        assert layout is not None
        password = native.admin_password(layout)
        assert password, "the API server wrote no admin password"
        token = _token(layout.api_url, password)
        with httpx.Client(
            base_url=layout.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as api:
            yield Stack(layout, api)
    finally:
        subprocess.run(
            [*command, "down", *where, "--drop", "--grace", "20"],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            timeout=180,
        )


@pytest.fixture(scope="module")
def outside_world(stack: Stack) -> Iterator[dict[int, int]]:
    """The simulators the workflows talk to, as Connections created through the REST API;
    and referrals POSTed by the hospitals to the stack's care API. The hospitals' answers."""
    from care_models.synthetic.county import build_county
    from care_models.tokens import development_token
    from care_models.workdays import seoul_today
    from care_sim.demo_alerts import vendor_simulators
    from care_sim.fhir_server import FhirServerSimulator, synthetic_referral_bundles
    from care_sim.smtp_server import SmtpSimulator

    layout = stack.layout
    settings = load_settings(
        {
            **TEST_KEYS,
            "CARE_DATABASE_URL": layout.database_url(layout.databases[1]),
            "CARE_VAR_DIR": str(layout.var_dir),
        }
    )
    county = build_county(settings.synthetic_clients, settings.synthetic_seed)
    today = seoul_today()
    pulled = synthetic_referral_bundles(2, today=today, hospital_code=PULL_HOSPITAL, county=county)
    with (
        FhirServerSimulator(pulled) as fhir_server,
        vendor_simulators(settings) as fleet,
        SmtpSimulator() as relay,
    ):
        connections = {
            f"AIRFLOW_CONN_FHIR_{PULL_HOSPITAL.replace('-', '_')}": json.dumps(
                {"conn_type": "http", "host": fhir_server.base_url}
            ),
            **fleet.connections,
            "AIRFLOW_CONN_SMTP_OUTBOUND": json.dumps(
                {"conn_type": "smtp", "host": "127.0.0.1", "port": relay.port}
            ),
        }
        for variable, value in connections.items():
            fields = json.loads(value)
            extra = fields.pop("extra", None)
            body = {
                "connection_id": variable.removeprefix("AIRFLOW_CONN_").lower(),
                **fields,
                **({"extra": json.dumps(extra)} if extra is not None else {}),
            }
            answer = stack.api.post("/api/v2/connections", json=body)
            assert answer.status_code == 201, answer.text[:300]
        yield _post_referrals(layout.care_api_url, county, settings, development_token, today)


def _post_referrals(
    base: str, county: Any, settings: Any, token_of: Any, today: dt.date
) -> dict[int, int]:
    """Eight hospitals' referrals POSTed to the stack's own care API; statuses counted."""
    from care_models.synthetic import referrals as sr

    statuses: dict[int, int] = {}
    specs = [s for s in sr.referral_specs(county, 12, today=today, seed=4242)]
    with httpx.Client(base_url=base, timeout=30) as client:
        for spec in specs:
            if spec.hospital_code == PULL_HOSPITAL:
                continue
            answer = client.post(
                "/fhir/Bundle",
                content=json.dumps(sr.build_bundle(spec), ensure_ascii=False).encode(),
                headers={
                    "Authorization": f"Bearer {token_of(settings, 'hospital', spec.hospital_code)}",
                    "Content-Type": "application/fhir+json",
                },
            )
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
    return statuses


def _logical_date(offset: float = 0.0) -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=30 - offset)


def _run_all(stack: Stack, dag_ids: list[str], stamp: dt.datetime) -> None:
    runs = {dag_id: stack.trigger(dag_id, stamp, {}) for dag_id in dag_ids}
    states = stack.wait(runs)
    stack.runs.update({dag: {"run_id": run, "state": states.get(dag)} for dag, run in runs.items()})
    for dag, run in runs.items():
        found = stack.get(f"/api/v2/dags/{dag}/dagRuns/{run}")
        print(f"{dag}: {found['state']} in {found['duration']} s")
    failed = [dag for dag, state in states.items() if state != "success"]
    assert not failed, "\n".join(stack.failure_report(dag, runs[dag]) for dag in failed)


def test_every_workflow_succeeds_when_triggered_through_the_rest_api(
    stack: Stack, outside_world: dict[int, int]
) -> None:
    """Every workflow at once, then the planning that consumes their visits.

    Planning runs last, alone, as in the data flow (ARCHITECTURE.md): its plan gate checks
    the plan against the due contacts again, and a workflow recording visits between its
    demand and its gate fails that gate (no retry) rather than publish a stale plan.
    """
    assert set(outside_world) == {201}, outside_world  # the stack's care API took them all
    dags = {d["dag_id"] for d in stack.get("/api/v2/dags", limit=100)["dags"]}
    assert dags == {path.stem for path in (PROJECT_ROOT / "dags").glob("*.py")}
    for dag_id in sorted(dags):
        stack.set_paused(dag_id, False)
    stamp = _logical_date()
    _run_all(stack, sorted(dags - {PLANNING}), stamp)
    _run_all(stack, [PLANNING], stamp)
    # the undisturbed planning run: what the run with a killed worker must end as
    stack.reference = (
        stack.plan_rows(),
        stack.xcom(PLANNING, stack.runs[PLANNING]["run_id"], "publish"),
    )


def test_the_per_town_solves_ran_on_the_routing_queue_on_both_workers(stack: Stack) -> None:
    if not stack.runs:
        pytest.skip("the workflows did not run")
    solves: list[dict[str, Any]] = []
    for run in stack.get(f"/api/v2/dags/{PLANNING}/dagRuns", limit=100)["dag_runs"]:
        solves += [
            ti
            for ti in stack.task_instances(PLANNING, run["dag_run_id"])
            if ti["task_id"] == "solve" and ti["state"] == "success"
        ]
    for ti in solves:
        print(f"solve {ti['rendered_map_index']}: {ti['hostname']} ({ti['duration']:.1f} s)")
    assert len(solves) >= 7, solves  # one per town team of the county, at least once
    assert {ti["queue"] for ti in solves} == {"routing"}
    assert {ti["hostname"] for ti in solves} == set(native.WORKERS), [
        (ti["rendered_map_index"], ti["hostname"]) for ti in solves
    ]
    others = [
        ti
        for dag_id, run in stack.runs.items()
        for ti in stack.task_instances(dag_id, run["run_id"])
        if ti["task_id"] != "solve" and ti["state"] == "success"
    ]
    assert {ti["queue"] for ti in others} == {"default"}
    assert {ti["hostname"] for ti in others} == set(native.WORKERS)


def _quiet(stack: Stack, timeout: float = RUN_TIMEOUT) -> None:
    """No run left queued or running (the test stack starts none of its own)."""
    deadline = time.monotonic() + timeout
    while (active := stack.active_runs()) and time.monotonic() < deadline:
        time.sleep(2)
    assert not active, active


def _running(stack: Stack, run_id: str, task_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for ti in stack.task_instances(PLANNING, run_id):
            if ti["task_id"] == task_id and ti["state"] == "running" and ti["hostname"]:
                return ti
        time.sleep(0.3)
    raise AssertionError(f"{task_id} of {run_id} never ran")


def test_a_worker_killed_mid_task_is_retried_elsewhere_and_the_run_ends_as_undisturbed(
    stack: Stack,
) -> None:
    if stack.reference is None:
        pytest.skip("the workflows did not run")
    rows, result = stack.reference
    _quiet(stack)
    # The planning run again, on the same Seoul day and inputs as the undisturbed one, with
    # a worker killed while it publishes the plan (day sheets, the capacity what-if solve
    # and the plan recorded in one transaction: several seconds of work).
    disturbed = stack.trigger(PLANNING, _logical_date(5), {})
    victim = _running(stack, disturbed, "publish")
    time.sleep(1.5)  # past the task's start, into its body (several seconds long)
    worker = stack.processes()[victim["hostname"]]
    killed = native.kill(worker)
    print(
        f"killed {victim['hostname']}: {len(killed)} processes, publish try {victim['try_number']}"
    )
    assert killed and not worker.alive() and not native.session_members(worker.pid)
    assert stack.wait({PLANNING: disturbed}) == {PLANNING: "success"}, stack.failure_report(
        PLANNING, disturbed
    )

    (publish,) = [t for t in stack.task_instances(PLANNING, disturbed) if t["task_id"] == "publish"]
    survivor = next(name for name in native.WORKERS if name != victim["hostname"])
    assert publish["try_number"] > victim["try_number"], publish
    print(f"publish: try {publish['try_number']} on {publish['hostname']}, {publish['state']}")
    assert publish["hostname"] == survivor, publish
    assert stack.plan_rows() == rows  # the same plan, visits and unplanned contacts
    again = stack.xcom(PLANNING, disturbed, "publish")
    # the same result, but that the plan was recorded by the first run
    assert [p["new_revision"] for p in again["plans"]] == [False] * len(result["plans"])
    assert _but_new_revision(again) == _but_new_revision(result)


def _but_new_revision(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in plan.items() if k != "new_revision"} for plan in result["plans"]]
