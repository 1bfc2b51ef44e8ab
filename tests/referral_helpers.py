"""Helpers for referral tests: a live care API on loopback, bundles, table dumps."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine, MetaData, select, text

from care_models import synthetic
from care_models import synthetic_referrals as sr
from care_models.workdays import seoul_today


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run the app under uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def specs(count: int, seed: int = 7) -> list[sr.ReferralSpec]:
    return sr.referral_specs(synthetic.build_county(), count, today=seoul_today(), seed=seed)


def bundle_bytes(spec: sr.ReferralSpec, mutate: Any = None) -> bytes:
    bundle = sr.build_bundle(spec)
    if mutate:
        mutate(bundle)
    return json.dumps(bundle, ensure_ascii=False).encode()


def resource(bundle: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"]
                if e["resource"]["resourceType"] == resource_type)


def headers(hospital_code: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {synthetic.hospital_token(hospital_code)}",
            "Content-Type": "application/fhir+json"}


def row_counts(engine: Engine, tables: tuple[str, ...]) -> dict[str, int]:
    with engine.connect() as connection:
        return {t: connection.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                for t in tables}


def dump_database(engine: Engine) -> str:
    """Every value of every table as text: what someone with a raw copy would see."""
    metadata = MetaData()
    metadata.reflect(engine)
    parts: list[str] = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                parts.extend(str(value) for value in row)
    return "\n".join(parts)
