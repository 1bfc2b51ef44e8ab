"""The synthetic county's conference rosters: who sits at each tier's table, as what.

Tier 1 (each town): the town's integrated-care coordinator chairs; a nurse of the
county speaks for health and medicine, the home-care centre for care, the
customised-care provider for daily living, the housing programme for housing, and
the town's welfare officer (a social worker) for safety. Tier 2 (the county): the
team lead chairs, with the nursing and rehabilitation providers, the housing
programme, the home-care centre and a social worker for safety. Work addresses on
the reserved ``example.org`` domain; loading is idempotent.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from care_models.schema import ConferenceMember, Organisation, Staff, Town

MAIL_DOMAIN = "example.org"  # reserved for documentation: nothing is ever delivered there
PROVIDER_SEATS = {  # discipline -> provider code
    "care_ltc": "P-HOMECARE",
    "daily_living": "P-SENIOR",
    "housing": "P-HOUSING",
}
TIER2_PROVIDER_SEATS = {
    "health_medical": "P-NURSING",
    "care_ltc": "P-HOMECARE",
    "housing": "P-HOUSING",
    "daily_living": "P-REHAB",
}


def staff_email(code: str) -> str:
    return f"{code.lower()}@jincheon.{MAIL_DOMAIN}"


def organisation_email(code: str) -> str:
    return f"conference@{code.lower()}.{MAIL_DOMAIN}"


def _seat(
    tier: int,
    town_id: int | None,
    discipline: str,
    role: str,
    *,
    staff: Staff | None = None,
    organisation: Organisation | None = None,
) -> ConferenceMember:
    email = staff_email(staff.code) if staff else organisation_email(organisation.code)  # type: ignore[union-attr]
    return ConferenceMember(
        tier=tier,
        town_id=town_id,
        staff_id=staff.id if staff else None,
        organisation_id=organisation.id if organisation else None,
        discipline=discipline,
        role=role,
        email=email,
    )


def load_conference_roster(session: Session) -> int:
    """Seat the rosters (skipped when any exists); how many members were added."""
    if session.scalar(select(ConferenceMember.id)) is not None:
        return 0
    staff = list(session.scalars(select(Staff).where(Staff.active).order_by(Staff.code)))
    providers = {
        o.code: o
        for o in session.scalars(select(Organisation).where(Organisation.kind == "provider"))
    }
    for member in staff:
        member.email = member.email or staff_email(member.code)
    for organisation in providers.values():
        organisation.email = organisation.email or organisation_email(organisation.code)
    nurses = [s for s in staff if s.role == "nurse"]
    social = [s for s in staff if s.role == "social_worker"]
    seats: list[ConferenceMember] = []
    for index, town in enumerate(session.scalars(select(Town).order_by(Town.code))):
        local = [s for s in social if s.office_town_id == town.id] or social
        chair = local[0]
        seats.append(_seat(1, town.id, "integrated_care", "chair", staff=chair))
        others = [s for s in social if s.id != chair.id]  # one seat per person
        if others:
            welfare = next(
                (s for s in others if s.office_town_id == town.id), others[index % len(others)]
            )
            seats.append(_seat(1, town.id, "safety_other", "required", staff=welfare))
        if nurses:
            seats.append(
                _seat(1, town.id, "health_medical", "required", staff=nurses[index % len(nurses)])
            )
        for discipline, code in PROVIDER_SEATS.items():
            if code in providers:
                seats.append(
                    _seat(1, town.id, discipline, "required", organisation=providers[code])
                )
    lead = next((s for s in staff if s.role == "team_lead"), social[0] if social else None)
    if lead is not None:
        seats.append(_seat(2, None, "integrated_care", "chair", staff=lead))
    safety = next((s for s in social if lead is None or s.id != lead.id), None)
    if safety is not None:
        seats.append(_seat(2, None, "safety_other", "required", staff=safety))
    for discipline, code in TIER2_PROVIDER_SEATS.items():
        if code in providers:
            seats.append(_seat(2, None, discipline, "required", organisation=providers[code]))
    session.add_all(seats)
    session.flush()
    return len(seats)
