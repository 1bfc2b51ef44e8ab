"""Identity matching for referrals: is the referred person a known client?

Keyed hashes only (see :class:`care_models.privacy.Vault`): RRN first, else name,
birth date and phone. Anything uncertain goes to review; never merged automatically.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.fhir.bundle import ReferralRecord
from care_models.privacy import Vault
from care_models.schema import Client


@dataclass(frozen=True)
class Match:
    kind: str  # existing, new, review
    client_id: int | None = None
    candidates: tuple[int, ...] = ()


def match_person(session: Session, vault: Vault, record: ReferralRecord) -> Match:
    """Keyed-hash matching: RRN, else name+birth+phone; anything uncertain goes to review."""
    person = record.person

    def ids(column: Any, value: str | None) -> set[int]:
        if value is None:
            return set()
        return set(session.scalars(select(Client.id).where(column == value)))

    by_rrn = ids(Client.rrn_hash, vault.rrn_hash(person.rrn) if person.rrn else None)
    by_nbp = ids(
        Client.name_birth_phone_hash,
        vault.name_birth_phone_hash(person.name, person.birth_date, person.phone)
        if person.phone
        else None,
    )
    by_nb = ids(Client.name_birth_hash, vault.name_birth_hash(person.name, person.birth_date))
    if by_rrn:
        (client_id,) = by_rrn
        if by_nbp and by_nbp != by_rrn:  # the RRN says one person, name/birth/phone another
            return Match("review", candidates=tuple(sorted(by_rrn | by_nbp)))
        return Match("existing", client_id)
    if len(by_nbp) == 1:
        (client_id,) = by_nbp
        return Match("existing", client_id)
    if by_nbp or by_nb:  # several exact matches, or same name and birth date, other phone
        return Match("review", candidates=tuple(sorted(by_nbp | by_nb)))
    return Match("new")
