"""Helpers for referral tests: a live care API on loopback, bundles, intake, table dumps."""

from __future__ import annotations

import json
import os
from typing import Any

from sqlalchemy import Engine, MetaData, select, text

from care_models.config import Settings, load_settings
from care_models.privacy import Vault
from care_models.referrals.intake import TABLES_WRITTEN, IntakeSummary
from care_models.synthetic import referrals as sr
from care_models.synthetic.county import build_county
from care_models.synthetic.load import hospital_token
from care_models.workdays import seoul_today
from care_sim.serving import serve_app as serve
from care_tasks.referrals import gate_then_intake

__all__ = ["serve"]


# The tables intake writes: a re-run must leave their row counts unchanged.
INTAKE_TABLES = TABLES_WRITTEN


def intake(engine: Engine, vault: Vault) -> IntakeSummary:
    """What the DAG does: gate the received referrals, then process them (the DAG's code)."""
    return gate_then_intake(engine, vault, seoul_today())


def specs(count: int, seed: int = 7) -> list[sr.ReferralSpec]:
    return sr.referral_specs(build_county(), count, today=seoul_today(), seed=seed)


def bundle_bytes(spec: sr.ReferralSpec, mutate: Any = None) -> bytes:
    bundle = sr.build_bundle(spec)
    if mutate:
        mutate(bundle)
    return json.dumps(bundle, ensure_ascii=False).encode()


def resource(bundle: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    )


def api_settings(**overrides: str) -> Settings:
    """Settings for a care API under test: the test's environment (its own CARE_VAR_DIR,
    so its own rate-limit counts and development tokens), with ``overrides``."""
    environ = {k: v for k, v in os.environ.items() if k.startswith("CARE_")}
    return load_settings({**environ, **overrides})


def headers(hospital_code: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {hospital_token(hospital_code)}",
        "Content-Type": "application/fhir+json",
    }


def row_counts(engine: Engine, tables: tuple[str, ...]) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            t: connection.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in tables
        }


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
