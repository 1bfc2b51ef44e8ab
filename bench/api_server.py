"""The care API under benchmark: uvicorn processes on 127.0.0.1, or a thread of this one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from care_models.config import Settings
from care_models.synthetic.county import HOSPITALS
from care_models.tokens import development_token

ROOT = Path(__file__).resolve().parent.parent


def api_app() -> Any:
    """The care API from CARE_ settings in the environment (``uvicorn --factory``)."""
    from care_api.app import create_app
    from care_models.config import load_settings

    return create_app(settings=load_settings())


def hospital_headers(settings: Settings) -> dict[str, dict[str, str]]:
    """Every synthetic hospital's request headers, with the development token seeding gave it."""
    return {
        code: {
            "Authorization": f"Bearer {development_token(settings, 'hospital', code)}",
            "Content-Type": "application/fhir+json",
            "Accept": "application/fhir+json",
        }
        for code, *_ in HOSPITALS
    }


def api_env(url: str, keys: tuple[str, str, str], var_dir: Path, **extra: str) -> dict[str, str]:
    """The API's CARE_ settings for a benchmark: its database and keys, and the per-hospital
    limits out of the way (a benchmark measures the API, not the limiter)."""
    encryption_key, match_key, token_key = keys
    return {
        "CARE_DATABASE_URL": url,
        "CARE_ENCRYPTION_KEYS": encryption_key,
        "CARE_MATCH_KEY": match_key,
        "CARE_TOKEN_KEY": token_key,
        "CARE_VAR_DIR": str(var_dir),
        "CARE_API_RATE_PER_MINUTE": "1000000",
        "CARE_API_BYTES_PER_MINUTE": str(10**12),
        **extra,
    }


@contextmanager
def api_server(mode: str, env: dict[str, str], workers: int = 1) -> Iterator[str]:
    """The care API on 127.0.0.1: uvicorn processes (default) or a thread of this one."""
    from care_sim.serving import free_port, serve_app

    if mode == "thread":
        from care_api.app import create_app
        from care_models.config import load_settings

        app = create_app(settings=load_settings(env))
        with serve_app(app) as base_url:
            yield base_url
        return
    port = free_port()
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("CARE_")}
    child_env.update(env, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "plugins")]))
    command = [
        sys.executable,
        "-m",
        "care_api.serve",  # one process per worker, each with its own socket (SO_REUSEPORT)
        "--app",
        "bench.api_server:api_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=child_env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the API server exited with {server.returncode}")
            try:
                if httpx.get(f"{base_url}/fhir/metadata", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API server did not start within 60 s")
            time.sleep(0.1)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
