"""Tell hospitals of each Task status change: which versions are due, which were delivered.

Each version is delivered at most once: it is marked delivered in the same step
that sees the hospital's acknowledgement. Versions of one referral go out in order;
a failing endpoint keeps its later versions for the next run. The HTTP side
(client, credentials, retries) is the caller's ``send``; in Airflow that is
``care_hooks.callback.HospitalCallbacks``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from care_models.referrals.store import task_resource, utcnow
from care_models.schema import Organisation, Referral, ReferralStatusEvent

log = logging.getLogger(__name__)

# (hospital, Task resource) -> whether the hospital acknowledged it
Sender = Callable[[Organisation, dict[str, object]], bool]


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


def deliver_callbacks(factory: sessionmaker[Session], send: Sender) -> CallbackSummary:
    """Send each pending Task version through ``send`` and mark the acknowledged ones."""
    summary = CallbackSummary()
    blocked: set[int] = set()
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
        delivered = send(hospital, body)
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
    return summary
