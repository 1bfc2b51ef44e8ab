"""`make ui` from the project: the UI comes up, logs in, and lists the workflows unpaused."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from care_models.config import PROJECT_ROOT

pytestmark = pytest.mark.airflow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _token(base: str, passwords: Path, deadline: float) -> str:
    while time.monotonic() < deadline:
        try:
            users = json.loads(passwords.read_text())
            answer = httpx.post(
                f"{base}/auth/token",
                json={"username": "admin", "password": users["admin"]},
                timeout=5,
            )
            if answer.status_code in (200, 201):
                return str(answer.json()["access_token"])
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            pass
        time.sleep(2)
    raise AssertionError("the Airflow UI did not come up with a login in time")


def test_make_ui_serves_the_workflows_through_the_rest_api(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    log = (tmp_path / "ui.log").open("w")
    ui = subprocess.Popen(
        ["make", "-s", "ui", f"VAR={tmp_path / 'var'}", f"UI_PORT={port}"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        passwords = tmp_path / "var/airflow/simple_auth_manager_passwords.json.generated"
        deadline = time.monotonic() + 300
        token = _token(base, passwords, deadline)
        wanted = {path.stem for path in (PROJECT_ROOT / "dags").glob("*.py")}
        listed: dict[str, bool] = {}
        while time.monotonic() < deadline and set(listed) != wanted:
            answer = httpx.get(
                f"{base}/api/v2/dags",
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            assert answer.status_code == 200, answer.text[:300]
            listed = {d["dag_id"]: d["is_paused"] for d in answer.json()["dags"]}
            time.sleep(2)
        assert set(listed) == wanted, (tmp_path / "ui.log").read_text()[-3000:]
        assert not any(listed.values()), listed
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        try:
            ui.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)
        log.close()
