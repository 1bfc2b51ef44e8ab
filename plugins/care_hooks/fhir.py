"""The hook on a hospital's FHIR R4 server, whose Airflow Connection is ``fhir_<code>``.

:func:`pull_all` pulls every hospital that has one, each on its own: whatever one
hospital's pull raises (its server down, a malformed page, a bug) is logged with the
hospital code and the error's type, counted in the summary, and the next hospital is
pulled. Only what would fail every hospital alike stops the run: a PrivacyError (the
keys) or a lost care database (SQLAlchemy's OperationalError, InterfaceError) at
once, so that Airflow retries the task, and a ConfigurationError (a Connection that
is not https, say) after the other hospitals were pulled, so the task fails where
the administrator sees it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from care_hooks.base import CareHttpHook
from care_hooks.fhir_pull import PullResult, pull_hospital
from care_hooks.http import RetryPolicy
from care_models.errors import CareError, ConfigurationError, ExternalServiceError, PrivacyError
from care_models.operations import raise_alert, resolve_alerts
from care_models.privacy import Vault
from care_models.schema import Organisation

log = logging.getLogger(__name__)


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
    # At most 5 tries per page, waits 0.2 s doubling up to 5 s: about 10 s of waiting.
    default_policy = RetryPolicy(attempts=5, backoff_seconds=0.2, max_backoff_seconds=5.0)
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


@dataclass
class PullSummary:
    """What one run of every pulled hospital did: counts, and the codes that failed."""

    hospitals: int = 0
    created: int = 0
    existing: int = 0
    rejected: int = 0
    failed: list[str] = field(default_factory=list)

    def as_xcom(self) -> dict[str, int]:
        """Counts only (the failed hospitals' codes are in the task's log)."""
        return {
            "hospitals": self.hospitals,
            "created": self.created,
            "existing": self.existing,
            "rejected": self.rejected,
            "failed_hospitals": len(self.failed),
        }


def pull_all(
    factory: sessionmaker[Session], vault: Vault, *, today: dt.date, **options: Any
) -> PullSummary:
    """Pull every hospital with a Connection, each isolated (module docstring)."""
    with factory() as session:
        hospitals = list(
            session.scalars(
                select(Organisation)
                .where(Organisation.kind == "hospital")
                .order_by(Organisation.code)
            )
        )
    summary = PullSummary()
    misconfigured: ConfigurationError | None = None
    for hospital in hospitals:
        try:
            result = _pull_one(factory, vault, hospital, today, options)
        except (PrivacyError, OperationalError, InterfaceError):
            raise  # the keys or the care database itself: every hospital would fail alike
        except ConfigurationError as error:
            misconfigured = misconfigured or error
            summary.failed.append(hospital.code)
            log.error("pull from %s not configured: %s", hospital.code, error)
            _record_outcome(factory, hospital.code, error)
            continue
        except Exception as error:  # one hospital must never stop the others
            summary.failed.append(hospital.code)
            _log_failure(hospital.code, error)
            _record_outcome(factory, hospital.code, error)
            continue
        if result is not None:
            _record_outcome(factory, hospital.code, None)
            summary.hospitals += 1
            summary.created += result.created
            summary.existing += result.existing
            summary.rejected += result.rejected
    if summary.failed:
        log.error(
            "pull failed for %d hospitals: %s", len(summary.failed), ", ".join(summary.failed)
        )
    if misconfigured is not None:
        raise misconfigured
    return summary


def _pull_one(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    today: dt.date,
    options: dict[str, Any],
) -> PullResult | None:
    hook = FhirServerHook(hospital.code, **options)
    if not hook.pulls():  # no Connection: the hospital pushes to our API
        return None
    return hook.pull(factory, vault, hospital, today=today)


def _record_outcome(factory: sessionmaker[Session], code: str, error: Exception | None) -> None:
    """A failed pull opens the hospital's ``pull_failed`` alert (the administrators'
    list, ``care_models summary``); a complete one resolves it. Only care errors' messages
    are kept: they never hold a personal value; of any other error only its type."""
    with factory() as session, session.begin():
        if error is None:
            resolve_alerts(session, ("pull_failed",), "organisation", code)
            return
        detail = str(error) if isinstance(error, CareError) else "unexpected error"
        raise_alert(
            session,
            workflow="referral_pull",
            kind="pull_failed",
            entity="organisation",
            entity_id=code,
            detail=f"{type(error).__name__}: {detail}",
        )


def _log_failure(code: str, error: Exception) -> None:
    """One line without personal data: the care errors' messages never hold any; others'
    might (a KeyError carries its key), so only their type is named."""
    if isinstance(error, CareError):
        log.error("pull from %s failed (%s): %s", code, type(error).__name__, error)
    else:
        log.error("pull from %s failed: unexpected %s", code, type(error).__name__)
