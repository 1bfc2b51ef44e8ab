"""The Docker Compose stack: valid against the Compose Specification, and wired as deployed.

No Docker engine is needed: ``docker-compose.yml`` is read with PyYAML (which resolves
the ``x-airflow-common`` anchors and merge keys) and validated with ``jsonschema``
against the Compose Specification schema vendored by ``check-jsonschema``. The
``${VAR:?message}`` interpolations are plain strings to the schema, so the raw file is
what gets validated. Then the wiring the platform relies on is checked service by service,
each service's environment being its ``env_file`` (deploy/stack.env) under its
``environment``, as compose makes it.
"""

from __future__ import annotations

import copy
import ipaddress
import json
from functools import cache
from pathlib import Path
from typing import Any

import check_jsonschema
import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
POSTGRES_INIT = ROOT / "deploy" / "postgres-init" / "01-care-db.sql"
NGINX_CONF = ROOT / "deploy" / "nginx" / "nginx.conf"
SCHEMA_FILE = (
    Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor" / "compose-spec.json"
)

AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
)
REQUIRED_SERVICES = ("postgres", "redis", *AIRFLOW_SERVICES)
LONG_RUNNING = tuple(name for name in AIRFLOW_SERVICES if name != "airflow-init")
JWT_SECRET = "${AIRFLOW_JWT_SECRET:?set AIRFLOW_JWT_SECRET}"
EXECUTION_API_URL = "http://airflow-apiserver:8080/execution/"


@cache
def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def _load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load_compose()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def schema_errors(document: Any) -> list[str]:
    """Every Compose Specification violation in ``document``, as readable lines."""
    schema = _schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"{e.json_path}: {e.message}" for e in errors]


def _env_file(entry: str | dict[str, Any]) -> dict[str, str]:
    path = ROOT / (entry if isinstance(entry, str) else entry["path"])
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def _environment(service: dict[str, Any]) -> dict[str, Any]:
    """What compose gives the service: its env_file entries, then its environment."""
    files = service.get("env_file", [])
    env: dict[str, Any] = {}
    for entry in [files] if isinstance(files, str | dict) else files:
        env.update(_env_file(entry))
    given = service.get("environment", {})
    if isinstance(given, list):
        given = dict(item.split("=", 1) for item in given)
    return {**env, **given}


def test_schema_file_is_shipped_with_check_jsonschema() -> None:
    assert SCHEMA_FILE.is_file(), SCHEMA_FILE
    assert "services" in _schema()["properties"]


def test_compose_file_is_valid_against_the_compose_spec(compose: dict[str, Any]) -> None:
    errors = schema_errors(compose)
    assert not errors, "docker-compose.yml breaks the Compose Specification:\n" + "\n".join(errors)


def test_unknown_top_level_key_is_rejected(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    broken["servicez"] = broken.pop("services")
    errors = schema_errors(broken)
    assert any("servicez" in error for error in errors), errors


def test_bogus_depends_on_condition_is_rejected(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["airflow-worker"]["depends_on"] = {"x": {"condition": "bogus"}}
    errors = schema_errors(broken)
    assert any("airflow-worker" in error and "depends_on" in error for error in errors), errors


def test_every_required_service_is_defined(services: dict[str, Any]) -> None:
    missing = [name for name in REQUIRED_SERVICES if name not in services]
    assert not missing, f"missing services: {missing}"


def test_airflow_common_anchor_is_declared(compose: dict[str, Any]) -> None:
    assert "x-airflow-common" in compose
    assert "&airflow-common" in COMPOSE_FILE.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_service_runs_celery_and_shares_the_secrets(
    services: dict[str, Any], name: str
) -> None:
    env = _environment(services[name])
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == JWT_SECRET
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == EXECUTION_API_URL
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].endswith("@postgres/airflow")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres/airflow")


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_service_gets_the_care_settings(services: dict[str, Any], name: str) -> None:
    env = _environment(services[name])
    assert "postgres/care" in env["CARE_DATABASE_URL"]
    assert env["CARE_MODE"] == "production"
    assert env["CARE_ENCRYPTION_KEYS"].startswith("${CARE_ENCRYPTION_KEYS:?")
    assert env["CARE_MATCH_KEY"].startswith("${CARE_MATCH_KEY:?")
    assert env["CARE_VAR_DIR"] == "/opt/care/var"


def test_airflow_services_share_one_image_and_build(services: dict[str, Any]) -> None:
    images = {(services[name]["image"], repr(services[name]["build"])) for name in AIRFLOW_SERVICES}
    assert len(images) == 1, images
    build = services["airflow-worker"]["build"]
    dockerfile = build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
    assert dockerfile == "Dockerfile"


def test_airflow_services_share_the_metadata_database(services: dict[str, Any]) -> None:
    conns = {
        _environment(services[name])["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        for name in AIRFLOW_SERVICES
    }
    assert len(conns) == 1, conns


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_service_waits_for_airflow_init(services: dict[str, Any], name: str) -> None:
    depends_on = services[name]["depends_on"]
    assert depends_on["airflow-init"]["condition"] == "service_completed_successfully"
    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["redis"]["condition"] == "service_healthy"


def test_airflow_init_migrates_both_databases(services: dict[str, Any]) -> None:
    init = services["airflow-init"]
    command = init["command"]
    script = command if isinstance(command, str) else " ".join(command)
    assert "airflow db migrate" in script
    assert "python -m care_models migrate" in script
    assert script.index("airflow db migrate") < script.index("python -m care_models migrate")
    assert "airflow-init" not in init["depends_on"]
    assert init["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_apiserver_publishes_8080_on_loopback_with_a_version_healthcheck(
    services: dict[str, Any],
) -> None:
    api = services["airflow-apiserver"]
    assert api["command"] == "api-server"
    assert published(api) == [("127.0.0.1", "8080", "8080")]
    assert "http://localhost:8080/api/v2/version" in api["healthcheck"]["test"]


def published(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(host address, host port, container port) of each published port; "" is every address."""
    found = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            found.append(
                (port.get("host_ip", ""), str(port.get("published", "")), str(port["target"]))
            )
            continue
        text = str(port).split("/")[0]
        host, _, container = text.rpartition(":")
        address, _, host_port = host.rpartition(":") if host.count(":") else ("", "", host)
        found.append((address.strip("[]"), host_port, container))
    return found


def _loopback(address: str) -> bool:
    return address == "localhost" or (address != "" and ipaddress.ip_address(address).is_loopback)


def _networks(service: dict[str, Any]) -> set[str]:
    networks = service.get("networks", ["default"])
    return set(networks)


def test_only_the_proxy_is_published_beyond_loopback(services: dict[str, Any]) -> None:
    exposed = {
        name: ports
        for name, service in services.items()
        if (ports := [p for p in published(service) if not _loopback(p[0])])
    }
    assert set(exposed) == {"proxy"}, exposed
    assert sorted(port[2] for port in exposed["proxy"]) == ["443", "80"]


def test_ports_are_read_with_their_addresses() -> None:
    service = {"ports": ["8080:8080", "127.0.0.1:9000:9000", "[::1]:53:53/udp", {"target": 1}]}
    assert published(service) == [
        ("", "8080", "8080"),
        ("127.0.0.1", "9000", "9000"),
        ("::1", "53", "53"),
        ("", "", "1"),
    ]
    assert [_loopback(p[0]) for p in published(service)] == [False, True, True, False]


def test_the_proxy_terminates_tls_with_the_shipped_configuration(
    services: dict[str, Any],
) -> None:
    proxy = services["proxy"]
    assert proxy["image"].startswith("nginx:")
    mounts = [str(volume) for volume in proxy["volumes"]]
    assert "./deploy/nginx/nginx.conf:/etc/nginx/nginx.conf:ro" in mounts
    assert any(m.endswith(":/etc/nginx/certs:ro") for m in mounts), mounts
    assert NGINX_CONF.is_file()
    assert "https://localhost/" in " ".join(proxy["healthcheck"]["test"])
    assert proxy["depends_on"]["care-api"]["condition"] == "service_healthy"


def test_the_care_api_runs_on_its_own_and_is_reached_only_by_the_proxy(
    services: dict[str, Any],
) -> None:
    api = services["care-api"]
    command = " ".join(api["command"])
    assert "python -m care_api.serve" in command and "--port 8000" in command
    assert "ports" not in api
    assert "http://localhost:8000/fhir/metadata" in api["healthcheck"]["test"]
    assert _networks(services["proxy"]) == {"edge"}
    on_edge = {name for name, service in services.items() if "edge" in _networks(service)}
    assert on_edge == {"proxy", "care-api"}
    assert api["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    worker = services["airflow-worker"]
    assert (api["image"], api["build"]) == (worker["image"], worker["build"])  # the same image


def test_the_care_api_gets_the_care_settings_and_no_airflow_secret(
    services: dict[str, Any],
) -> None:
    env = _environment(services["care-api"])
    assert env["CARE_MODE"] == "production"
    assert env["CARE_ENCRYPTION_KEYS"].startswith("${CARE_ENCRYPTION_KEYS:?")
    assert env["CARE_MATCH_KEY"].startswith("${CARE_MATCH_KEY:?")
    assert "postgres/care" in env["CARE_DATABASE_URL"]
    # deploy/stack.env's Airflow settings (no secret there), none of the Airflow services'
    own = _environment(services["airflow-scheduler"])
    airflow_given = {k for k in services["airflow-scheduler"]["environment"] if "AIRFLOW" in k}
    assert airflow_given and not airflow_given & set(env)
    assert not [k for k, v in env.items() if k.startswith("AIRFLOW__") and v != own[k]]
    assert not [v for v in _env_file("deploy/stack.env").values() if "$" in v or "@" in v]
    assert "care-var:/opt/care/var" not in services["care-api"].get("volumes", [])


def test_worker_is_a_scalable_celery_worker(services: dict[str, Any]) -> None:
    worker = services["airflow-worker"]
    assert worker["command"] == "celery worker --queues default,routing"
    assert "replicas" in worker["deploy"]
    assert "container_name" not in worker


def test_postgres_and_redis_have_healthchecks(services: dict[str, Any]) -> None:
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert "redis-cli" in services["redis"]["healthcheck"]["test"]
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"


def test_postgres_mounts_the_care_database_init_script(services: dict[str, Any]) -> None:
    postgres = services["postgres"]
    assert postgres["environment"]["POSTGRES_DB"] == "airflow"
    mounts = [str(volume) for volume in postgres["volumes"]]
    assert any(m.startswith("./deploy/postgres-init:/docker-entrypoint-initdb.d") for m in mounts)


def test_postgres_init_script_creates_the_care_database() -> None:
    statements = [
        line.strip().rstrip(";").upper()
        for line in POSTGRES_INIT.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("--")
    ]
    assert "CREATE DATABASE CARE" in statements


def test_named_volumes_hold_postgres_data_and_care_var(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    named = set(compose["volumes"])
    postgres_data = [
        v for v in services["postgres"]["volumes"] if v.endswith(":/var/lib/postgresql/data")
    ]
    care_var = [v for v in services["airflow-worker"]["volumes"] if v.endswith(":/opt/care/var")]
    assert postgres_data and postgres_data[0].split(":")[0] in named
    assert care_var and care_var[0].split(":")[0] in named


def test_dockerfile_builds_on_the_official_airflow_image() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()]
    from_lines = [line for line in lines if line.upper().startswith("FROM ")]
    assert from_lines, "Dockerfile has no FROM"
    assert from_lines[0].split()[1].startswith("apache/airflow:3.3.2")
    assert any(
        "pip install" in line and "-e /opt/care" in line and "--constraint" in line
        for line in lines
    )
    assert "WORKDIR /opt/care" in lines
