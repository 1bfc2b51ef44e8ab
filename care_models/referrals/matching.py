"""Identity matching for referrals: is the referred person a known client?

Keyed hashes only (see :class:`care_models.privacy.Vault`): RRN first, else name,
birth date and phone. Anything uncertain goes to review; never merged automatically.
:func:`decide` is the rule; intake's batch (``intake_batch.People``) asks the database
once for the clients any key of a whole batch finds.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

from care_models.privacy import PersonalFields, Vault


@dataclass(frozen=True)
class Match:
    kind: str  # existing, new, review
    client_id: int | None = None
    candidates: tuple[int, ...] = ()


@dataclass(frozen=True)
class PersonKeys:
    """A person's keyed hashes, as the clients table holds them (None: not known)."""

    rrn: str | None
    name_birth_phone: str | None
    name_birth: str


def person_keys(vault: Vault, person: PersonalFields) -> PersonKeys:
    return PersonKeys(
        rrn=vault.rrn_hash(person.rrn) if person.rrn else None,
        name_birth_phone=(
            vault.name_birth_phone_hash(person.name, person.birth_date, person.phone)
            if person.phone
            else None
        ),
        name_birth=vault.name_birth_hash(person.name, person.birth_date),
    )


def decide(by_rrn: Set[int], by_nbp: Set[int], by_nb: Set[int]) -> Match:
    """The rule, from the clients each key found: RRN, else name+birth+phone; else review."""
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
