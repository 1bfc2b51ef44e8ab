"""``python -m care_api.serve``: the care API alone, one process per worker, stopped by SIGTERM.

Its own server disconnects clients that send a request too slowly, caps the open
connections, and refuses development keys on anything but a loopback address.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from care_api.serve import bind_refusal
from care_models.config import PROJECT_ROOT, load_settings
from care_sim.serving import free_port
from tests.conftest import TEST_KEYS
from tests.support.referrals import bundle_bytes, headers, row_counts, specs

READ_TIMEOUT = 2  # seconds, CARE_API_READ_TIMEOUT_SECONDS of the slow-client server
DRIPS = 8  # bytes a slow client sends, one a second, before the test gives up
MAX_CONNECTIONS = 4
TINY_APP = "tests.support.asgi:body_length_app"


def _environment(var_dir: Path, **care: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("CARE_")},
        **TEST_KEYS,
        "CARE_VAR_DIR": str(var_dir),
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "plugins")]),
        **care,
    }


def _serve(args: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "care_api.serve", *args], env=dict(env), cwd=PROJECT_ROOT
    )


def _wait_until_up(server: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, "the server exited"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)


def _stop(server: subprocess.Popen[bytes]) -> int:
    server.send_signal(signal.SIGTERM)
    return server.wait(timeout=30)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_two_workers_serve_and_stop_cleanly(
    county_engine: Engine, database_url: str, isolated_var_dir: object
) -> None:
    port = free_port()
    env = _environment(isolated_var_dir, CARE_DATABASE_URL=database_url)  # type: ignore[arg-type]
    server = _serve(["--workers", "2", "--port", str(port)], env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(server, f"{base}/fhir/metadata")
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
        code = _stop(server)
    assert code == 0


@pytest.fixture(scope="module")
def slow_client_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The server with a short read deadline and a small connection cap, serving TINY_APP."""
    port = free_port()
    env = _environment(
        tmp_path_factory.mktemp("var"),
        CARE_API_READ_TIMEOUT_SECONDS=str(READ_TIMEOUT),
        CARE_API_MAX_CONNECTIONS=str(MAX_CONNECTIONS),
    )
    server = _serve(["--workers", "1", "--port", str(port), "--app", TINY_APP], env)
    try:
        _wait_until_up(server, f"http://127.0.0.1:{port}/")
        yield port
    finally:
        # One worker is uvicorn itself, which re-raises the SIGTERM after stopping cleanly.
        assert _stop(server) in (0, -signal.SIGTERM)


def _closed_by_server(sock: socket.socket, wait: float) -> bool:
    """Whether the server closed the connection (anything it sent first is read past)."""
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([sock], [], [], left)[0]:
            return False
        try:
            if not sock.recv(4096):
                return True
        except ConnectionResetError:
            return True
    return False


def _dripped(port: int, opening: bytes, drip: bytes) -> bool:
    """Send ``opening`` at once, then ``drip`` one byte a second: did the server hang up?"""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(opening)
        for byte in drip[:DRIPS]:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                return True
            if _closed_by_server(sock, 1.0):
                return True
        return False


SLOW_HEADERS = (b"", b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"x" * 64)
SLOW_BODY = (
    b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 64\r\n\r\n",
    b"{" * 64,
)
SILENT = (b"", b"")


@pytest.fixture(scope="module")
def slow_clients(slow_client_server: int) -> dict[str, bool]:
    """Three slow clients at once (one wait for all): whether each was disconnected."""
    kinds = {"headers": SLOW_HEADERS, "body": SLOW_BODY, "silent": SILENT}
    outcome: dict[str, bool] = {}

    def run(kind: str) -> None:
        opening, drip = kinds[kind]
        if drip:
            outcome[kind] = _dripped(slow_client_server, opening, drip)
            return
        with socket.create_connection(("127.0.0.1", slow_client_server), timeout=5) as sock:
            outcome[kind] = _closed_by_server(sock, DRIPS)

    threads = [threading.Thread(target=run, args=(kind,)) for kind in kinds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


@pytest.mark.parametrize("kind", ["headers", "body", "silent"])
def test_a_slow_client_is_disconnected(slow_clients: dict[str, bool], kind: str) -> None:
    assert slow_clients[kind], f"a client sending its {kind} one byte a second kept its connection"


def test_a_prompt_client_is_served_on_a_kept_alive_connection(slow_client_server: int) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{slow_client_server}", timeout=5) as client:
        answers = [client.post("/", content=b"x" * size) for size in (10, 70000, 0)]
    assert [(a.status_code, a.text) for a in answers] == [(200, "10"), (200, "70000"), (200, "0")]


def test_connections_over_the_cap_are_refused(slow_client_server: int) -> None:
    idle = [
        socket.create_connection(("127.0.0.1", slow_client_server), timeout=5)
        for _ in range(MAX_CONNECTIONS - 1)
    ]
    try:
        answer = httpx.get(f"http://127.0.0.1:{slow_client_server}/", timeout=5)
    finally:
        for sock in idle:
            sock.close()
    assert answer.status_code == 503


@pytest.mark.parametrize(
    ("mode", "host", "refused"),
    [
        ("development", "127.0.0.1", False),
        ("development", "127.0.0.2", False),
        ("development", "::1", False),
        ("development", "localhost", False),
        ("development", "0.0.0.0", True),
        ("development", "::", True),
        ("development", "192.0.2.10", True),
        ("development", "care.example", True),
        ("development", "", True),
        ("production", "0.0.0.0", False),
    ],
)
def test_development_keys_serve_on_loopback_only(mode: str, host: str, refused: bool) -> None:
    settings = load_settings({"CARE_MODE": mode, **TEST_KEYS})
    refusal = bind_refusal(settings, host)
    assert (refusal is not None) == refused
    if refusal is not None:
        assert refusal.startswith("CARE_MODE: ")
        assert not host or host not in refusal  # says the rule, not the value


def test_serve_refuses_development_keys_on_all_interfaces(isolated_var_dir: Path) -> None:
    env = _environment(isolated_var_dir)  # development mode: its keys may be generated ones
    port = str(free_port())
    done = subprocess.run(
        [sys.executable, "-m", "care_api.serve", "--host", "0.0.0.0", "--port", port],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: CARE_MODE"), done.stderr
    assert not (isolated_var_dir / "dev-keys.env").exists()
