"""Tell hospitals of each Task status change: POST the Task version to their callback URL.

Each version is delivered at most once: it is marked delivered in the same step
that sees the hospital's 2xx. Versions of one referral go out in order; a failing
endpoint keeps its later versions for the next run. Retries back off exponentially.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from care_models.referrals.store import task_resource, utcnow
from care_models.schema import Organisation, Referral, ReferralStatusEvent

log = logging.getLogger(__name__)


@dataclass
class CallbackSummary:
    delivered: int = 0
    failed: int = 0
    skipped: int = 0


def _pending(session: Session) -> list[tuple[ReferralStatusEvent, Referral, Organisation]]:
    rows = session.execute(
        select(ReferralStatusEvent, Referral, Organisation)
        .join(Referral, Referral.id == ReferralStatusEvent.referral_id)
        .join(Organisation, Organisation.id == Referral.hospital_id)
        .where(
            ReferralStatusEvent.callback_delivered_at.is_(None),
            Organisation.callback_url.is_not(None),
        )
        .order_by(ReferralStatusEvent.referral_id, ReferralStatusEvent.version)
    )
    return [(e, r, o) for e, r, o in rows]


def _post(
    client: httpx.Client, url: str, body: dict[str, object], attempts: int, backoff_seconds: float
) -> bool:
    for attempt in range(attempts):
        try:
            response = client.post(
                url, json=body, headers={"Content-Type": "application/fhir+json"}
            )
            if response.is_success:
                return True
            if response.status_code < 500 and response.status_code != 429:
                return False  # the hospital refuses this; retrying will not help
        except httpx.HTTPError:
            pass
        if attempt + 1 < attempts:
            time.sleep(backoff_seconds * 2**attempt)
    return False


def deliver_callbacks(
    factory: sessionmaker[Session],
    *,
    client: httpx.Client | None = None,
    attempts: int = 3,
    backoff_seconds: float = 0.5,
) -> CallbackSummary:
    summary = CallbackSummary()
    own_client = client is None
    client = client or httpx.Client(timeout=10.0)
    blocked: set[int] = set()
    try:
        with factory() as session:
            pending = _pending(session)
        for event, referral, hospital in pending:
            if referral.id in blocked:
                summary.skipped += 1
                continue
            body = task_resource(
                referral,
                status=event.status,
                reason=event.reason,
                version=event.version,
                last_updated=event.changed_at,
            )
            assert hospital.callback_url is not None
            delivered = _post(client, hospital.callback_url, body, attempts, backoff_seconds)
            with factory() as session, session.begin():
                row = session.get(ReferralStatusEvent, event.id)
                assert row is not None
                row.callback_attempts += 1
                if delivered:
                    row.callback_delivered_at = utcnow()
            if delivered:
                summary.delivered += 1
            else:
                summary.failed += 1
                blocked.add(referral.id)
                log.warning(
                    "callback to hospital %s failed for Task %s version %s",
                    hospital.code,
                    referral.id,
                    event.version,
                )
    finally:
        if own_client:
            client.close()
    return summary
