"""Tell hospitals of each Task status change: which versions are due, which were delivered.

Each version is delivered at most once: it is marked delivered in the same step
that sees the hospital's acknowledgement. Versions of one referral go out in order;
a failing endpoint keeps its later versions for a later run. The HTTP side
(client, credentials, timeouts) is the caller's ``send``; in Airflow that is
``care_hooks.callback.HospitalCallbacks``, run by the ``hospital_callbacks`` DAG.

A dead endpoint cannot hold up the others (:class:`CallbackRules`):

- within a run, a hospital whose endpoint failed ``breaker_failures`` times in a
  row is skipped for the rest of the run (its circuit breaker trips);
- a failed version waits ``backoff`` before its next attempt, doubling each time
  (at most ``max_backoff``);
- after ``max_attempts`` attempts it is dead-lettered: never sent again, and an
  operational alert (``callback_dead_letter``) tells the team, who can tell the
  hospital another way. A later version of the same Task still goes out.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from care_models.operations import raise_alert
from care_models.referrals.store import task_resource, utcnow
from care_models.schema import Organisation, Referral, ReferralStatusEvent

log = logging.getLogger(__name__)

# (hospital, Task resource) -> whether the hospital acknowledged it
Sender = Callable[[Organisation, dict[str, object]], bool]
WORKFLOW = "hospital_callbacks"
DEAD_LETTER = "callback_dead_letter"


@dataclass(frozen=True)
class CallbackRules:
    """How hard to try one hospital's endpoint (defaults: ``care_models.config``)."""

    breaker_failures: int = 3
    max_attempts: int = 8
    backoff: dt.timedelta = dt.timedelta(minutes=5)
    max_backoff: dt.timedelta = dt.timedelta(hours=6)

    def next_attempt(self, attempts: int, now: dt.datetime) -> dt.datetime:
        wait = self.backoff * (2 ** max(0, attempts - 1))
        return now + min(wait, self.max_backoff)


@dataclass
class CallbackSummary:
    delivered: int = 0
    failed: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    tripped: list[str] = field(default_factory=list)  # hospital codes whose breaker tripped

    def as_dict(self) -> dict[str, object]:
        return {
            "delivered": self.delivered,
            "failed": self.failed,
            "skipped": self.skipped,
            "dead_lettered": self.dead_lettered,
            "tripped": sorted(self.tripped),
        }


def _pending(session: Session) -> list[tuple[ReferralStatusEvent, Referral, Organisation]]:
    rows = session.execute(
        select(ReferralStatusEvent, Referral, Organisation)
        .join(Referral, Referral.id == ReferralStatusEvent.referral_id)
        .join(Organisation, Organisation.id == Referral.hospital_id)
        .where(
            ReferralStatusEvent.callback_delivered_at.is_(None),
            ReferralStatusEvent.callback_dead_at.is_(None),
            Organisation.callback_url.is_not(None),
        )
        .order_by(ReferralStatusEvent.referral_id, ReferralStatusEvent.version)
    )
    return [(e, r, o) for e, r, o in rows]


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite gives naive UTC


def _record_attempt(
    factory: sessionmaker[Session],
    event_id: int,
    delivered: bool,
    rules: CallbackRules,
    now: dt.datetime,
) -> bool:
    """Count the attempt; mark delivered, or schedule the next, or dead-letter it (True)."""
    with factory() as session, session.begin():
        row = session.get(ReferralStatusEvent, event_id)
        assert row is not None
        row.callback_attempts += 1
        if delivered:
            row.callback_delivered_at = utcnow()
            return False
        if row.callback_attempts < rules.max_attempts:
            row.callback_next_at = rules.next_attempt(row.callback_attempts, now)
            return False
        row.callback_dead_at = now
        raise_alert(
            session,
            workflow=WORKFLOW,
            kind=DEAD_LETTER,
            entity="referral_status_event",
            entity_id=str(event_id),
            detail=(
                f"Task {row.referral_id} version {row.version} not acknowledged after "
                f"{row.callback_attempts} attempts; tell the hospital another way"
            ),
        )
        return True


def deliver_callbacks(
    factory: sessionmaker[Session],
    send: Sender,
    rules: CallbackRules | None = None,
    *,
    now: dt.datetime | None = None,
) -> CallbackSummary:
    """Send each due Task version through ``send`` and record what came of it."""
    rules = rules or CallbackRules()
    now = now or utcnow()
    summary = CallbackSummary()
    blocked: set[int] = set()  # referrals whose earlier version is not delivered yet
    failures: dict[str, int] = {}  # consecutive failures per hospital in this run
    with factory() as session:
        pending = _pending(session)
    for event, referral, hospital in pending:
        if referral.id in blocked:
            continue
        if event.callback_next_at is not None and _aware(event.callback_next_at) > now:
            blocked.add(referral.id)  # waiting out its backoff; later versions wait too
            continue
        if hospital.code in summary.tripped:
            summary.skipped += 1
            blocked.add(referral.id)
            continue
        body = task_resource(
            referral,
            status=event.status,
            reason=event.reason,
            version=event.version,
            last_updated=event.changed_at,
            business_status=event.business_status,
        )
        delivered = send(hospital, body)
        dead = _record_attempt(factory, event.id, delivered, rules, now)
        if delivered:
            summary.delivered += 1
            failures[hospital.code] = 0
            continue
        summary.failed += 1
        summary.dead_lettered += dead
        if not dead:
            blocked.add(referral.id)
        failures[hospital.code] = failures.get(hospital.code, 0) + 1
        log.warning(
            "callback to hospital %s failed for Task %s version %s%s",
            hospital.code,
            referral.id,
            event.version,
            " (dead-lettered)" if dead else "",
        )
        if failures[hospital.code] >= rules.breaker_failures:
            summary.tripped.append(hospital.code)
            log.warning(
                "hospital %s: %d failures in a row, skipped this run",
                hospital.code,
                rules.breaker_failures,
            )
    return summary
