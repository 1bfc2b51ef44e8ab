"""The TLS proxy's configuration (``deploy/nginx/nginx.conf``), read as nginx reads it.

No nginx is needed: the file is parsed with :mod:`tests.support.nginx` and the
properties the deployment relies on are checked directive by directive. Where an
``nginx`` binary is installed, ``nginx -t`` also checks it (with a throwaway
certificate and the upstream pointed at loopback, since ``care-api`` resolves only
inside the compose network).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from care_models.config import Settings
from tests.support.nginx import Directive, NginxSyntaxError, parse, walk

ROOT = Path(__file__).resolve().parents[3]
NGINX_CONF = ROOT / "deploy" / "nginx" / "nginx.conf"
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


@pytest.mark.skipif(shutil.which("nginx") is None, reason="no nginx binary on this machine")
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
