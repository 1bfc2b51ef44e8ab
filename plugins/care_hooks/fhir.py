"""The hook on a hospital's FHIR R4 server, whose Airflow Connection is ``fhir_<code>``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from care_hooks.base import CareHttpHook
from care_hooks.fhir_pull import PullResult, pull_hospital
from care_hooks.http import RetryPolicy
from care_models.errors import ExternalServiceError
from care_models.privacy import Vault
from care_models.schema import Organisation


def connection_id(hospital_code: str) -> str:
    """``H-CJ-UNI`` -> ``fhir_h_cj_uni``."""
    return "fhir_" + hospital_code.lower().replace("-", "_")


class FhirServerHook(CareHttpHook):
    """Pull referrals from one hospital's FHIR server (see :mod:`care_hooks.fhir_pull`).

    The Connection's host (and port, and schema as the path, default ``fhir``) give the
    base URL; a hospital without a Connection pushes to the care API instead.
    """

    hook_name = "Hospital FHIR server"
    default_path = "fhir"
    default_policy = RetryPolicy(attempts=5, backoff_seconds=0.2)
    default_timeout_seconds = 5.0

    def __init__(self, hospital_code: str, **options: Any) -> None:
        """``options``: ``policy`` and ``timeout_seconds`` (see :class:`CareHttpHook`)."""
        super().__init__(connection_id(hospital_code), **options)
        self.hospital_code = hospital_code

    def pulls(self) -> bool:
        """Whether the hospital is pulled from (its Connection names a host)."""
        return self.base_url() is not None

    def pull(
        self,
        factory: sessionmaker[Session],
        vault: Vault,
        hospital: Organisation,
        *,
        today: dt.date,
        page_size: int = 20,
    ) -> PullResult:
        base = self.base_url()
        if base is None:
            raise ExternalServiceError(
                f"FHIR server of {self.hospital_code}: no Connection {self.conn_id}"
            )
        with self.get_conn() as client:
            return pull_hospital(
                factory,
                vault,
                hospital,
                base,
                today=today,
                client=client,
                page_size=page_size,
                policy=self.policy,
                timeout_seconds=self.timeout_seconds,
            )
