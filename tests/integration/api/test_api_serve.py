"""``python -m care_api.serve``: the care API alone, one process per worker, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import Engine

from care_models.config import PROJECT_ROOT
from care_sim.serving import free_port
from tests.conftest import TEST_KEYS
from tests.support.referrals import bundle_bytes, headers, row_counts, specs


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_two_workers_serve_and_stop_cleanly(
    county_engine: Engine, database_url: str, isolated_var_dir: object
) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CARE_")},
        **TEST_KEYS,
        "CARE_DATABASE_URL": database_url,
        "CARE_VAR_DIR": str(isolated_var_dir),
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "plugins")]),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "care_api.serve", "--workers", "2", "--port", str(port)],
        env=env,
        cwd=PROJECT_ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "the server exited"
            try:
                if httpx.get(f"{base}/fhir/metadata", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        spec = specs(1)[0]
        with httpx.Client(base_url=base, timeout=30) as client:  # several connections' worth
            answers = [
                client.post(
                    "/fhir/Bundle", content=bundle_bytes(spec), headers=headers(spec.hospital_code)
                ).status_code
                for _ in range(3)
            ]
            created = client.get(
                "/fhir/Task",
                params={"identifier": spec.number},
                headers=headers(spec.hospital_code),
            ).json()
        assert answers == [201, 200, 200] and created["total"] == 1
        assert row_counts(county_engine, ("referrals",)) == {"referrals": 1}
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
    assert code == 0
