"""Vendors' push-signing secrets, and the check of a signed push.

A vendor that pushes (the AI speakers) signs each request: the header
``X-Care-Timestamp`` holds Unix seconds, ``X-Care-Signature`` holds ``v1=`` and the
hex HMAC-SHA256, under the vendor's secret, of the timestamp, a dot and the raw
body. Signing the timestamp with the body means neither can be changed alone.

- A push is accepted only within :data:`PUSH_WINDOW` of our clock (either side), so
  a captured request cannot be replayed later. Within the window a replay is
  harmless: the store is keyed on the vendor's alert id, so the same push stores
  nothing new (answered 200, not 201).
- The HMAC needs the secret itself, so it is kept encrypted at rest (the Vault,
  field :data:`SECRET_FIELD`) with a keyed fingerprint (``Vault.token_hash``) to find
  and revoke it; never in clear, never logged.
- :func:`rotate_secret` adds a new secret (shown once) and ends the vendor's other
  secrets after :data:`ROTATION_GRACE` (a vendor needs time to deploy the new one);
  :func:`revoke_secrets` ends them all at once. Each writes an audit row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Sequence

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from care_models.alerts.gate import aware, vendor_of
from care_models.errors import ValidationError
from care_models.privacy import Vault, audit
from care_models.schema import Organisation, VendorSecret

TIMESTAMP_HEADER = "X-Care-Timestamp"
SIGNATURE_HEADER = "X-Care-Signature"
PUSH_WINDOW = dt.timedelta(minutes=5)
ROTATION_GRACE = dt.timedelta(days=1)
SECRET_FIELD = "vendor_secrets.secret"
SCHEME = "v1="


class SignatureRejected(ValidationError):
    """A push whose signature or timestamp does not hold (names the header and rule)."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=<hex>``: HMAC-SHA256 of ``timestamp.body`` under ``secret``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SCHEME + digest.hexdigest()


def check_timestamp(timestamp: str | None, now: dt.datetime) -> None:
    if not timestamp or not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureRejected(TIMESTAMP_HEADER, "must be Unix seconds")
    moment = dt.datetime.fromtimestamp(int(timestamp), dt.UTC)
    if abs(moment - aware(now)) > PUSH_WINDOW:
        minutes = int(PUSH_WINDOW.total_seconds() // 60)
        raise SignatureRejected(TIMESTAMP_HEADER, f"is more than {minutes} minutes from now")


def verify(
    secrets_: Sequence[str],
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: dt.datetime,
) -> None:
    """Raise SignatureRejected unless one live secret signed ``timestamp.body`` in time."""
    if not signature or not signature.startswith(SCHEME) or len(signature) != len(SCHEME) + 64:
        raise SignatureRejected(SIGNATURE_HEADER, "must be v1= and a hex HMAC-SHA256")
    check_timestamp(timestamp, now)
    assert timestamp is not None
    given = signature.encode()
    if not any(hmac.compare_digest(sign(s, timestamp, body).encode(), given) for s in secrets_):
        raise SignatureRejected(SIGNATURE_HEADER, "does not match the vendor's secret")


def _live(now: dt.datetime) -> ColumnElement[bool]:
    return or_(VendorSecret.revoked_at.is_(None), VendorSecret.revoked_at > now)


def live_secrets(session: Session, vault: Vault, vendor_code: str, now: dt.datetime) -> list[str]:
    """The vendor's secrets in force at ``now``, decrypted (none for an unknown vendor)."""
    found = session.scalars(
        select(VendorSecret.secret_enc)
        .join(Organisation, Organisation.id == VendorSecret.vendor_id)
        .where(Organisation.code == vendor_code, Organisation.kind == "vendor", _live(now))
        .order_by(VendorSecret.id.desc())
    )
    return [vault.decrypt(token, SECRET_FIELD) for token in found]


def fingerprint(vault: Vault, secret: str) -> str:
    return vault.token_hash("vendor-secret:" + secret)


def rotate_secret(
    session: Session,
    vault: Vault,
    vendor_code: str,
    *,
    now: dt.datetime,
    actor: str,
    grace: dt.timedelta = ROTATION_GRACE,
) -> str:
    """A new secret for the vendor (returned once); its others end after ``grace``."""
    vendor = vendor_of(session, vendor_code)
    ends = now + grace
    older = session.scalars(
        select(VendorSecret).where(VendorSecret.vendor_id == vendor.id, _live(now))
    ).all()
    for row in older:
        if row.revoked_at is None or aware(row.revoked_at) > ends:
            row.revoked_at = ends
    secret = secrets.token_urlsafe(32)
    session.add(
        VendorSecret(
            vendor_id=vendor.id,
            secret_enc=vault.encrypt(secret, SECRET_FIELD),
            fingerprint=fingerprint(vault, secret),
            created_at=now,
        )
    )
    audit(
        session,
        actor=actor[:80],
        action="vendor_secret_rotate" if older else "vendor_secret_issue",
        entity="organisation",
        entity_id=vendor_code,
        purpose=f"{len(older)} older secrets end {ends:%Y-%m-%d %H:%M} UTC" if older else None,
    )
    session.flush()
    return secret


def revoke_secrets(session: Session, vendor_code: str, *, now: dt.datetime, actor: str) -> int:
    """End every secret of the vendor at once; how many were in force."""
    vendor = vendor_of(session, vendor_code)
    rows = session.scalars(
        select(VendorSecret).where(VendorSecret.vendor_id == vendor.id, _live(now))
    ).all()
    for row in rows:
        row.revoked_at = now
    audit(
        session,
        actor=actor[:80],
        action="vendor_secret_revoke",
        entity="organisation",
        entity_id=vendor_code,
        purpose=f"{len(rows)} secrets revoked",
    )
    session.flush()
    return len(rows)
