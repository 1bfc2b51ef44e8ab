"""Texts the platform sends (the alert protocol's day-1 SMS), once each, with receipts.

A message is queued as a row (``outbound_messages``) keyed on a natural key, so a
step that runs twice queues it once; the row names its recipient (a client, the
client's guardian, a staff member), never a number: the phone stays encrypted and
is opened in memory only to hand the text to the gateway. Then:

- :func:`send_queued` sends what is due, each message on its own: a gateway fault
  (5xx, timeout) counts an attempt and waits (``backoff`` doubling); after
  ``max_attempts`` the message is dead-lettered and the team sees an operational
  alert; a recipient with no phone on record is dead-lettered at once (no retry can
  help). The gateway deduplicates on our natural key, so a retried send whose answer
  was lost never texts a person twice.
- :func:`collect_receipts` reads the gateway's delivery receipts from its cursor
  (``sync_watermarks``, moved only with the rows it covers) and marks each message
  ``delivered`` or ``failed`` (an undeliverable number: an operational alert).

Texts carry no name, diagnosis or address: who is contacted and why is in the row.
Nothing here logs a phone number.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from care_models import operations
from care_models.errors import CareError, TransientError
from care_models.privacy import Vault
from care_models.schema import Client, OutboundMessage, Staff, SyncWatermark

log = logging.getLogger(__name__)
RECEIPTS_SOURCE = "sms:receipts"
# What each purpose says, per recipient: no name, no diagnosis, no address.
TEXTS: dict[tuple[str, str], str] = {
    ("day1_text_message", "client"): (
        "[통합돌봄] 안부 확인을 위해 연락드렸으나 닿지 않았습니다. "
        "이 문자를 보시면 읍·면 사무소 통합돌봄 창구로 연락 주세요."
    ),
    ("day1_text_message", "guardian"): (
        "[통합돌봄] 보호자님, 돌봄 대상자분과 오늘 연락이 닿지 않아 안부를 확인하고 "
        "있습니다. 소식을 아시면 읍·면 사무소 통합돌봄 창구로 연락 주세요."
    ),
    ("critical_notify", "staff"): (
        "[통합돌봄] 긴급: 담당 대상자 한 분께 긴급 신호(SOS·화재·가스·응급버튼)가 "
        "접수되었습니다. 즉시 통합돌봄 사건 목록을 확인해 주세요."
    ),
    ("run_deadline_missed", "staff"): (
        "[통합돌봄] 워크플로 실행이 기한 안에 끝나지 않았습니다(의뢰 접수 또는 기기 알림). "
        "Airflow의 Care operations 화면을 확인해 주세요."
    ),
    ("day2_police_report", "staff"): (
        "[통합돌봄] 2일차 가정방문에서 담당 대상자를 찾지 못했습니다. 사건 목록에서 "
        "실종 신고서를 출력해 경찰에 신고하고 결과를 기록해 주세요."
    ),
}


@dataclass(frozen=True)
class Receipt:
    message_id: str
    status: str  # delivered | failed


class SmsSender(Protocol):
    """What the domain needs of an SMS gateway (``care_hooks.sms.SmsGatewayHook``)."""

    def send(self, to: str, text: str, reference: str) -> str: ...

    def receipts(self, after: str) -> tuple[list[Receipt], str]: ...


@dataclass
class SendResult:
    sent: int = 0
    retried: int = 0
    dead_lettered: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"sent": self.sent, "retried": self.retried, "dead_lettered": self.dead_lettered}


def queue_sms(
    session: Session,
    *,
    natural_key: str,
    purpose: str,
    recipient_role: str,
    client_id: int | None = None,
    staff_id: int | None = None,
) -> OutboundMessage:
    """Queue one text (once per natural key); the existing row if it was queued before."""
    if (purpose, recipient_role) not in TEXTS:
        raise ValueError(f"no text for {purpose} to a {recipient_role}")
    existing = session.scalar(
        select(OutboundMessage).where(OutboundMessage.natural_key == natural_key)
    )
    if existing is not None:
        return existing
    message = OutboundMessage(
        channel="sms",
        natural_key=natural_key,
        purpose=purpose,
        recipient_role=recipient_role,
        client_id=client_id,
        staff_id=staff_id,
        status="queued",
    )
    session.add(message)
    session.flush()
    return message


def _phone(session: Session, vault: Vault, message: OutboundMessage) -> str | None:
    """The recipient's number, digits only, opened in memory; None if none is on record."""
    if message.recipient_role in ("client", "guardian") and message.client_id is not None:
        client = session.get(Client, message.client_id)
        if client is None:
            return None
        if message.recipient_role == "client":
            token, name = client.phone_enc, "clients.phone"
        else:
            token = client.guardian_phone_enc if client.guardian_consent else None
            name = "clients.guardian_phone"
    elif message.recipient_role == "staff" and message.staff_id is not None:
        staff = session.get(Staff, message.staff_id)
        token, name = (staff.phone_enc if staff else None), "staff.phone"
    else:
        return None
    if not token:
        return None
    digits = "".join(ch for ch in vault.decrypt(token, name) if ch.isdigit())
    return digits or None


def _dead_letter(session: Session, message: OutboundMessage, problem: str) -> None:
    message.status, message.next_attempt_at = "dead_letter", None
    message.last_error = problem[:200]
    operations.raise_alert(
        session,
        workflow="device_alert_sync",
        kind="sms_dead_letter",
        entity="outbound_message",
        entity_id=str(message.id),
        detail=f"{message.purpose} to a {message.recipient_role}: {problem}",
    )


def send_queued(
    session: Session,
    sender: SmsSender,
    vault: Vault,
    now: dt.datetime,
    *,
    max_attempts: int = 4,
    backoff: dt.timedelta = dt.timedelta(minutes=5),
) -> SendResult:
    """Send every queued text that is due; each message alone (see the module doc)."""
    result = SendResult()
    due = session.scalars(
        select(OutboundMessage)
        .where(
            OutboundMessage.channel == "sms",
            OutboundMessage.status == "queued",
            or_(OutboundMessage.next_attempt_at.is_(None), OutboundMessage.next_attempt_at <= now),
        )
        .order_by(OutboundMessage.id)
    ).all()
    for message in due:
        phone = _phone(session, vault, message)
        if phone is None:
            _dead_letter(session, message, "the recipient has no phone on record (or no consent)")
            result.dead_lettered.append(message.id)
            continue
        text = TEXTS[(message.purpose, message.recipient_role)]
        message.attempts += 1
        try:
            message.provider_message_id = sender.send(phone, text, message.natural_key)
        except TransientError as error:
            problem = f"{type(error).__name__}: {error}"
            if message.attempts >= max_attempts:
                _dead_letter(session, message, f"{message.attempts} attempts failed; {problem}")
                result.dead_lettered.append(message.id)
            else:
                message.last_error = problem[:200]
                message.next_attempt_at = now + backoff * (2 ** (message.attempts - 1))
                result.retried += 1
            continue
        except CareError as error:  # refused for good (a malformed answer): no retry helps
            _dead_letter(session, message, f"{type(error).__name__}: {error}")
            result.dead_lettered.append(message.id)
            continue
        message.status, message.sent_at, message.last_error = "sent", now, None
        result.sent += 1
    session.flush()
    return result


def collect_receipts(session: Session, sender: SmsSender, now: dt.datetime) -> dict[str, int]:
    """Mark sent texts delivered or failed from the gateway's receipts since the cursor."""
    mark = session.get(SyncWatermark, RECEIPTS_SOURCE)
    receipts, cursor = sender.receipts(mark.watermark if mark else "0")
    counts = {"delivered": 0, "failed": 0, "unknown": 0}
    for receipt in receipts:
        message = session.scalar(
            select(OutboundMessage).where(
                OutboundMessage.channel == "sms",
                OutboundMessage.provider_message_id == receipt.message_id,
            )
        )
        if message is None:
            counts["unknown"] += 1
            continue
        if receipt.status == "delivered":
            message.status, message.delivered_at = "delivered", now
            counts["delivered"] += 1
        else:
            message.status = "failed"
            counts["failed"] += 1
            operations.raise_alert(
                session,
                workflow="device_alert_sync",
                kind="sms_undelivered",
                entity="outbound_message",
                entity_id=str(message.id),
                detail=f"{message.purpose} to a {message.recipient_role}: not delivered",
            )
    if mark is None:
        session.add(SyncWatermark(source=RECEIPTS_SOURCE, watermark=cursor))
    else:
        mark.watermark = cursor
    session.flush()
    return counts
