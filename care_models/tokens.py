"""Access tokens: hospitals' API tokens and coordinators' calendar-feed tokens.

- A token is 256 random bits (``secrets``), shown once when issued; the database
  keeps only its keyed hash (``Vault.token_hash``, under ``CARE_TOKEN_KEY``), with
  when it was created, when it expires and whether it was revoked.
- ``issue`` adds a token; the holder's other tokens keep working.
- ``rotate`` adds a token and ends the holder's others after
  ``CARE_TOKEN_ROTATION_GRACE_MINUTES`` (a hospital needs time to deploy the new one);
  a grace of 0 revokes them at once.
- ``revoke`` ends every live token of the holder at once. The care API remembers a
  valid hospital token for ``TOKEN_CACHE_SECONDS`` (60 s) per worker, so a revoked
  token stops within that bound; calendar tokens are checked on every request.
- Each issue, rotation and revocation writes an audit row: holder, action and
  expiry, never the token or its hash.
- Development only: the synthetic county's holders get random tokens, written to
  ``CARE_VAR_DIR/dev-tokens.json`` (0600) for the demo, benchmarks and tests.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session

from care_models.config import Settings
from care_models.errors import ConfigurationError, NotFoundError, ValidationError
from care_models.privacy import Vault, audit
from care_models.schema import AccessToken, Organisation, Staff

TOKEN_BYTES = 32  # 256 bits
MAX_LIFETIME_DAYS = 3650
HOLDER_KINDS = ("hospital", "staff")
DEV_TOKEN_SECTIONS = {"hospital": "hospitals", "staff": "staff"}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands timestamps back without their zone; they are stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Holder:
    """Who a token is for: a hospital (by organisation code) or a coordinator (staff code)."""

    kind: str
    code: str

    @classmethod
    def from_options(cls, hospital: str | None, staff: str | None) -> Holder:
        if bool(hospital) == bool(staff):
            raise ValidationError("--hospital/--staff", "give exactly one of the two")
        return cls("hospital", hospital) if hospital else cls("staff", staff or "")


@dataclass(frozen=True)
class IssuedToken:
    holder: Holder
    token: str
    expires_at: dt.datetime


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def lifetime(days: int | None, settings: Settings) -> dt.timedelta:
    chosen = settings.token_lifetime_days if days is None else days
    if not 1 <= chosen <= MAX_LIFETIME_DAYS:
        raise ValidationError("--days", f"must be a whole number from 1 to {MAX_LIFETIME_DAYS}")
    return dt.timedelta(days=chosen)


def _holder_id(session: Session, holder: Holder) -> int:
    if holder.kind == "hospital":
        found = session.scalar(
            select(Organisation.id).where(
                Organisation.code == holder.code, Organisation.kind == "hospital"
            )
        )
        if found is None:
            raise NotFoundError("--hospital: no hospital has this code")
        return found
    found = session.scalar(select(Staff.id).where(Staff.code == holder.code))
    if found is None:
        raise NotFoundError("--staff: no coordinator has this code")
    return found


def _of_holder(holder: Holder, holder_id: int) -> ColumnElement[bool]:
    column = AccessToken.organisation_id if holder.kind == "hospital" else AccessToken.staff_id
    return column == holder_id


def _live(now: dt.datetime) -> ColumnElement[bool]:
    return and_(AccessToken.revoked_at.is_(None), AccessToken.expires_at > now)


def issue(
    session: Session,
    vault: Vault,
    holder: Holder,
    *,
    valid_for: dt.timedelta,
    actor: str,
    now: dt.datetime | None = None,
    action: str = "token_issue",
) -> IssuedToken:
    """A new token for ``holder``; its other tokens are left as they are."""
    issued = _new_row(session, vault, holder, valid_for, now or utcnow())
    expires = issued.expires_at.isoformat(timespec="seconds")
    _audit(session, holder, actor, action, f"expires {expires}")
    session.flush()
    return issued


def _new_row(
    session: Session, vault: Vault, holder: Holder, valid_for: dt.timedelta, now: dt.datetime
) -> IssuedToken:
    holder_id = _holder_id(session, holder)
    token = new_token()
    session.add(
        AccessToken(
            organisation_id=holder_id if holder.kind == "hospital" else None,
            staff_id=holder_id if holder.kind == "staff" else None,
            token_hash=vault.token_hash(token),
            created_at=now,
            expires_at=now + valid_for,
        )
    )
    return IssuedToken(holder, token, now + valid_for)


def rotate(
    session: Session,
    vault: Vault,
    holder: Holder,
    *,
    valid_for: dt.timedelta,
    grace: dt.timedelta,
    actor: str,
    now: dt.datetime | None = None,
) -> IssuedToken:
    """A new token; the holder's older live tokens end after ``grace`` (at once if zero)."""
    now = now or utcnow()
    holder_id = _holder_id(session, holder)
    older = select(AccessToken.id).where(_of_holder(holder, holder_id), _live(now))
    ids = list(session.scalars(older))
    if ids and grace <= dt.timedelta(0):
        session.execute(update(AccessToken).where(AccessToken.id.in_(ids)).values(revoked_at=now))
    elif ids:
        ends = now + grace
        session.execute(
            update(AccessToken)
            .where(AccessToken.id.in_(ids), AccessToken.expires_at > ends)
            .values(expires_at=ends)
        )
    return issue(
        session, vault, holder, valid_for=valid_for, actor=actor, now=now, action="token_rotate"
    )


def revoke(session: Session, holder: Holder, *, actor: str, now: dt.datetime | None = None) -> int:
    """End every live token of ``holder`` at once; returns how many there were."""
    now = now or utcnow()
    holder_id = _holder_id(session, holder)
    ids = list(
        session.scalars(select(AccessToken.id).where(_of_holder(holder, holder_id), _live(now)))
    )
    if ids:
        session.execute(update(AccessToken).where(AccessToken.id.in_(ids)).values(revoked_at=now))
    _audit(session, holder, actor, "token_revoke", f"{len(ids)} live tokens revoked")
    session.flush()
    return len(ids)


def _audit(session: Session, holder: Holder, actor: str, action: str, purpose: str) -> None:
    entity = "organisation" if holder.kind == "hospital" else "staff"
    audit(
        session,
        actor=actor[:80],
        action=action,
        entity=entity,
        entity_id=holder.code,
        purpose=purpose,
    )


# -- checking a token ----------------------------------------------------------------


def hospital_for_token(
    session: Session, vault: Vault, token: str, now: dt.datetime | None = None
) -> tuple[Organisation, dt.datetime] | None:
    """The hospital holding this live token, and when the token expires; None otherwise."""
    if not token:
        return None
    found = session.execute(
        select(Organisation, AccessToken.expires_at)
        .join(AccessToken, AccessToken.organisation_id == Organisation.id)
        .where(
            AccessToken.token_hash == vault.token_hash(token),
            _live(now or utcnow()),
            Organisation.kind == "hospital",
        )
    ).one_or_none()
    return None if found is None else (found[0], aware(found[1]))


def staff_for_token(
    session: Session, vault: Vault, staff_code: str, token: str, now: dt.datetime | None = None
) -> Staff | None:
    """The active coordinator ``staff_code`` if this live token is theirs; None otherwise."""
    if not token:
        return None
    return session.scalars(
        select(Staff)
        .join(AccessToken, AccessToken.staff_id == Staff.id)
        .where(
            Staff.code == staff_code,
            Staff.active.is_(True),
            AccessToken.token_hash == vault.token_hash(token),
            _live(now or utcnow()),
        )
    ).one_or_none()


# -- development tokens of the synthetic county --------------------------------------


def issue_development_tokens(
    session: Session, vault: Vault, settings: Settings, holders: Iterable[Holder]
) -> Path:
    """Development only: a live random token per holder, in ``settings.dev_tokens_file``.

    A token already in the file that still works is kept (seeding again changes
    nothing); any other holder gets a new one. Production mode refuses. These are not
    audited: they exist only in a development database of synthetic people."""
    if settings.production:
        raise ConfigurationError("CARE_MODE", "development tokens are never issued in production")
    path = settings.dev_tokens_file
    known = _read_tokens(path)
    written: dict[str, dict[str, str]] = {section: {} for section in DEV_TOKEN_SECTIONS.values()}
    valid_for = lifetime(None, settings)
    for holder in holders:
        section = DEV_TOKEN_SECTIONS[holder.kind]
        token = known.get(section, {}).get(holder.code)
        if token is None or not _still_works(session, vault, holder, token):
            token = _new_row(session, vault, holder, valid_for, utcnow()).token
        written[section][holder.code] = token
    session.flush()
    _write_private(path, json.dumps(written, indent=1, sort_keys=True))
    return path


def _still_works(session: Session, vault: Vault, holder: Holder, token: str) -> bool:
    if holder.kind == "staff":
        return staff_for_token(session, vault, holder.code, token) is not None
    found = hospital_for_token(session, vault, token)
    return found is not None and found[0].code == holder.code


def _read_tokens(path: Path) -> Mapping[str, Mapping[str, str]]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _write_private(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` atomically, readable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    os.replace(partial, path)


def development_token(settings: Settings, kind: str, code: str) -> str:
    """The development token of a synthetic hospital or coordinator (after ``seed``)."""
    section = DEV_TOKEN_SECTIONS[kind]
    token = _read_tokens(settings.dev_tokens_file).get(section, {}).get(code)
    if token is None:
        raise NotFoundError(f"{kind}: no development token for this code; run seed first")
    return token
