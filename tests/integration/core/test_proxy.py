"""The TLS proxy's configuration (``deploy/nginx/nginx.conf``), read as nginx reads it.

No nginx is needed: the file is parsed with :mod:`tests.support.nginx` and the
properties the deployment relies on are checked directive by directive. Where an
``nginx`` binary is installed, ``nginx -t`` also checks it (with a throwaway
certificate and the upstream pointed at loopback, since ``care-api`` resolves only
inside the compose network).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import httpx
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from care_models.config import Settings
from care_sim.serving import free_port
from tests.conftest import TEST_KEYS
from tests.support.nginx import Directive, NginxSyntaxError, parse, walk

ROOT = Path(__file__).resolve().parents[3]
NGINX_CONF = ROOT / "deploy" / "nginx" / "nginx.conf"
# CI installs nginx with the browser packages (make browser-deps) and requires it there.
NGINX_REQUIRED = os.environ.get("CARE_TEST_REQUIRE_BROWSER") == "1"
needs_nginx = pytest.mark.skipif(
    shutil.which("nginx") is None and not NGINX_REQUIRED,
    reason="no nginx binary here (sudo make browser-deps installs it)",
)
COMPOSE_FILE = ROOT / "docker-compose.yml"
READ_BOUND_SECONDS = 10  # the most a client may take to send headers, or between body reads
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
SIZES = {"": 1, "k": 1024, "m": 1024 * 1024, "g": 1024**3}


@cache
def _text() -> str:
    return NGINX_CONF.read_text(encoding="utf-8")


@cache
def _http() -> Directive:
    return parse(_text()).one("http")


def _server(port: str) -> Directive:
    servers = [s for s in _http().all("server") if any(port in d.args[0] for d in s.all("listen"))]
    assert len(servers) == 1, f"{len(servers)} servers listen on {port}"
    return servers[0]


def _seconds(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([smhd]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * UNITS[unit]


def _bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", value.lower()).groups()  # type: ignore[union-attr]
    return int(number) * SIZES[unit]


def _header(server: Directive, name: str) -> list[str]:
    found = [d.args for d in server.all("add_header") if d.args[0].lower() == name.lower()]
    assert len(found) == 1, f"{len(found)} {name} headers"
    return found[0]


def test_the_configuration_parses() -> None:
    names = [d.name for d in parse(_text()).block or []]
    assert "http" in names and "events" in names


@pytest.mark.parametrize(
    "damage",
    [lambda t: t.rstrip().removesuffix("}"), lambda t: t.replace("return 404;", "return 404")],
)
def test_a_broken_configuration_is_caught(damage: object) -> None:
    with pytest.raises(NginxSyntaxError):
        parse(damage(_text()))  # type: ignore[operator]


def test_https_only_with_modern_tls() -> None:
    tls = _server("443")
    assert tls.one("listen").args[:2] == ["443", "ssl"]
    assert tls.one("ssl_certificate").args == ["/etc/nginx/certs/fullchain.pem"]
    assert tls.one("ssl_certificate_key").args == ["/etc/nginx/certs/privkey.pem"]
    assert set(tls.one("ssl_protocols").args) <= {"TLSv1.2", "TLSv1.3"}
    plain = _server("80")
    assert [d.name for d in walk(plain)] == ["listen", "server_name", "return"]
    assert plain.one("return").args == ["301", "https://$host$request_uri"]


@pytest.mark.parametrize("name", ["client_header_timeout", "client_body_timeout"])
def test_slow_requests_are_cut_off(name: str) -> None:
    assert _seconds(_http().one(name).args[0]) <= READ_BOUND_SECONDS


@pytest.mark.parametrize(
    "name",
    ["send_timeout", "keepalive_timeout", "proxy_connect_timeout", "proxy_read_timeout"],
)
def test_every_other_wait_is_bounded(name: str) -> None:
    found = [d for d in walk(parse(_text())) if d.name == name]
    assert len(found) == 1 and _seconds(found[0].args[0]) <= 120


def test_the_body_limit_is_the_care_apis() -> None:
    limit = _bytes(_http().one("client_max_body_size").args[0])
    assert limit == Settings.model_fields["api_max_body_bytes"].default


def test_connections_and_rates_are_limited_per_client_address() -> None:
    zones = {
        d.args[1].split("=")[1].split(":")[0]: d.args[0] for d in _http().all("limit_conn_zone")
    }
    tls = _server("443")
    conn_zone, most = tls.one("limit_conn").args
    assert zones[conn_zone] == "$binary_remote_addr" and 0 < int(most) <= 100
    rate_zones = [d.args[1].split("=")[1].split(":")[0] for d in _http().all("limit_req_zone")]
    assert tls.one("limit_req").args[0] == f"zone={rate_zones[0]}"
    assert _http().one("limit_conn_status").args == ["429"]


def test_hsts_and_security_headers_on_every_answer() -> None:
    tls = _server("443")
    hsts = _header(tls, "Strict-Transport-Security")
    max_age = int(re.search(r"max-age=(\d+)", hsts[1]).group(1))  # type: ignore[union-attr]
    assert max_age >= 365 * 86400 and hsts[-1] == "always"
    assert _header(tls, "X-Content-Type-Options")[1:] == ["nosniff", "always"]
    for location in tls.all("location"):  # an add_header there would drop the server's
        assert not location.all("add_header"), location.args


def test_only_the_care_api_paths_go_to_the_care_api_service() -> None:
    upstream = _http().one("upstream")
    assert upstream.args == ["care_api"] and upstream.one("server").args[0] == "care-api:8000"
    passes = {
        tuple(location.args): [d.args[0] for d in location.all("proxy_pass")]
        for location in _server("443").all("location")
    }
    assert passes == {
        ("/fhir/",): ["http://care_api"],
        ("/web/",): ["http://care_api"],
        ("/feeds/visits/",): ["http://care_api"],
        ("/",): [],
    }
    compose = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    command = compose["services"]["care-api"]["command"]
    assert command[command.index("--port") + 1] == "8000"


def test_the_care_api_sees_the_address_nginx_saw() -> None:
    headers = {d.args[0]: d.args[1] for d in _server("443").all("proxy_set_header")}
    assert headers["X-Forwarded-For"] == "$remote_addr"  # replaced, not appended to
    assert headers["X-Forwarded-Proto"] == "https"


def test_the_access_log_holds_no_query_string() -> None:
    log_format = " ".join(_http().one("log_format").args[1:])
    for variable in ("$request ", "$request_uri", "$args", "$query_string", "$http_"):
        assert variable not in log_format + " ", variable
    assert _http().one("access_log").args[1] == _http().one("log_format").args[0]


def _throwaway_certificate(directory: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (directory / "fullchain.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@needs_nginx
def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    _throwaway_certificate(tmp_path)
    (tmp_path / "logs").mkdir()
    local = (
        _text()
        .replace("/etc/nginx/certs", str(tmp_path))
        .replace("/var/log/nginx", str(tmp_path / "logs"))
        .replace("care-api:8000", "127.0.0.1:8000")
    )
    (tmp_path / "nginx.conf").write_text(local, encoding="utf-8")
    globals_ = f"pid {tmp_path / 'nginx.pid'}; error_log {tmp_path / 'logs' / 'error.log'};"
    checked = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", globals_],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, "the process exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on {port}"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def live_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """nginx with this configuration on 127.0.0.1, in front of ``care_api.serve``.

    Only the addresses change (listen ports, the upstream, files), and the header
    timeout drops to 2 s so that a slow client is cut off quickly."""
    directory = tmp_path_factory.mktemp("proxy")
    _throwaway_certificate(directory)
    (directory / "logs").mkdir()
    api_port, plain_port, tls_port = free_port(), free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CARE_")},
        **TEST_KEYS,
        "CARE_VAR_DIR": str(directory),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")]),
    }
    api = subprocess.Popen(
        [sys.executable, "-m", "care_api.serve", "--workers", "1", "--port", str(api_port)],
        env=env,
        cwd=ROOT,
    )
    local = (
        _text()
        .replace("/etc/nginx/certs", str(directory))
        .replace("/var/log/nginx", str(directory / "logs"))
        .replace("care-api:8000", f"127.0.0.1:{api_port}")
        .replace("listen 80 ", f"listen 127.0.0.1:{plain_port} ")
        .replace("listen 443 ", f"listen 127.0.0.1:{tls_port} ")
        .replace("client_header_timeout 10s", "client_header_timeout 2s")
    )
    (directory / "nginx.conf").write_text(local, encoding="utf-8")
    globals_ = (
        f"daemon off; pid {directory / 'nginx.pid'}; error_log {directory / 'logs' / 'e.log'};"
    )
    proxy = subprocess.Popen(
        ["nginx", "-p", str(directory), "-c", str(directory / "nginx.conf"), "-g", globals_]
    )
    try:
        _wait_for_port(tls_port, proxy)
        _wait_for_port(api_port, api)
        # The socket listens before the app is imported: wait for the app itself.
        httpx.get(f"http://127.0.0.1:{api_port}/fhir/metadata", timeout=30).raise_for_status()
        yield plain_port, tls_port
    finally:
        for process in (proxy, api):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


@contextmanager
def _tls_socket(port: int) -> Iterator[ssl.SSLSocket]:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # throwaway certificate
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw) as sock,
    ):
        yield sock


def _answer_then_end(sock: ssl.SSLSocket, wait: float) -> bytes | None:
    """What the server sent before it closed the connection; None if it is still open."""
    received, deadline = b"", time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        if not sock.pending() and not select.select([sock], [], [], left)[0]:
            return None
        try:
            chunk = sock.recv(4096)
        except (ConnectionResetError, ssl.SSLError):
            return received
        if not chunk:
            return received
        received += chunk
    return None


@needs_nginx
def test_through_the_proxy_the_care_api_answers_over_tls_with_hsts(
    live_proxy: tuple[int, int],
) -> None:
    plain, tls = live_proxy
    with httpx.Client(base_url=f"https://127.0.0.1:{tls}", verify=False, timeout=10) as client:
        metadata = client.get("/fhir/metadata")
        elsewhere = [client.get(path).status_code for path in ("/docs", "/api/v2/version")]
    assert metadata.status_code == 200 and metadata.json()["resourceType"] == "CapabilityStatement"
    assert metadata.headers["strict-transport-security"].startswith("max-age=63072000")
    assert metadata.headers.get_list("x-content-type-options") == ["nosniff"]
    assert metadata.headers["cache-control"] == "no-store"
    assert metadata.headers["server"] == "nginx"  # no version
    assert elsewhere == [404, 404]
    redirect = httpx.get(f"http://127.0.0.1:{plain}/fhir/metadata", timeout=10)
    assert redirect.status_code == 301
    assert redirect.headers["location"].startswith("https://")


@needs_nginx
def test_the_proxy_refuses_a_body_over_the_limit(live_proxy: tuple[int, int]) -> None:
    with _tls_socket(live_proxy[1]) as sock:
        sock.sendall(b"POST /fhir/Bundle HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head and (chunk := sock.recv(4096)):
            head += chunk  # the answer comes before any of the body was sent
    assert head.startswith(b"HTTP/1.1 413")
    assert b"Strict-Transport-Security" in head


@needs_nginx
def test_the_proxy_disconnects_a_client_that_drips_its_headers(
    live_proxy: tuple[int, int],
) -> None:
    with _tls_socket(live_proxy[1]) as sock:
        for byte in b"GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n"[:8]:
            sock.sendall(bytes([byte]))
            if (answer := _answer_then_end(sock, 1.0)) is not None:
                break
    assert answer is not None and not answer.startswith(b"HTTP/1.1 200")
