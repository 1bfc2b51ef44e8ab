"""Demand: the visits and calls due in a planning horizon, as :class:`DueContact`s.

Two sources of demand (DOMAIN.md section 3):

- every active :class:`PlannedService` of an active care plan, expanded by its cadence;
- the monitoring cadence of the client's risk tier (at risk: a call every week and a
  visit every month; caution: a call every month; interest: a call every other month;
  closed: a visit every six months).

Due windows are anchored on fixed calendar periods (months, ISO weeks, two-month
blocks from January, quarters, half-years) or, for packages and one-off services, on
the service's start date. A contact's key names its period and its number within the
period, ``"<client code>:<service>:<mode>:<period label>:<n>"``, so expanding the same
data again gives the same keys. Period labels: ``2026-11`` (month), ``2026-W48``
(ISO week), ``2026-B6`` (November–December), ``2026-Q4``, ``2026-H2`` (half-year) and
the start date (``2026-11-02``) for packages and one-off services.

``contacts_per_period`` contacts of a period are spread over it: the period's days are
cut into that many consecutive windows (2 a month: 1st–15th and 16th–end; a week is
cut over Monday–Friday, the last window running to Sunday). ``twice_monthly`` is a
monthly cadence of at least two contacts. A package spreads its contacts over its
first weeks (:data:`PACKAGE_WEEKS`) from the start date; a one-off service is due in
the :data:`ONCE_WINDOW_DAYS` from its start date.

A contact is due when its window overlaps the horizon; earliest and latest are the
window clipped to the horizon (a window that began before the horizon and is not yet
met is due from the horizon's first day). Windows that ended before the horizon are
not carried over. A Visit of the same client, service type and mode that is planned,
booked or done on a day of the (unclipped) window satisfies the contact; each visit
satisfies at most one contact. Urgent visits already booked (source referral or
alert) inside the horizon come back as fixed contacts the router keeps.

Everything is read in a handful of bulk queries, whatever the number of clients.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from care_models import vocab
from care_models.alerts.checklist import DAY2_DEADLINE
from care_models.errors import ValidationError
from care_models.schema import CarePlan, Case, Client, PlannedService, Staff, Town, Visit
from care_models.visits.cadence import (
    DEFAULT_PACKAGE_WEEKS,
    add_months,
    cadence_windows,
    calendar_windows,
)
from care_models.visits.model import SKILLS_BY_SERVICE, DueContact, Place
from care_models.visits.served import Keep as _Keep
from care_models.visits.served import ServedBy, served_scope

COUNTING_STATUSES = ("planned", "booked", "done")  # visits that count against a cadence
FIXED_STATUSES = ("planned", "booked")
URGENT_SOURCES = ("referral", "alert")  # booked visits the router must keep
URGENT_DEADLINES = {"alert": DAY2_DEADLINE}  # the latest end of a booked visit, by source
PACKAGE_WEEKS = {"discharge_nursing": 4, "rehabilitation": 4, "nutrition": 4}
CALL_MINUTES = 15
MONITORING_VISIT_MINUTES = 40
ROUTINE, HIGH, URGENT = 3, 2, 1

# Risk tier -> (mode, calendar cadence, priority) of its monitoring contacts.
TIER_MONITORING: dict[str, tuple[tuple[str, str, int], ...]] = {
    "at_risk": (("phone", "weekly", ROUTINE), ("visit", "monthly", HIGH)),
    "caution": (("phone", "monthly", ROUTINE),),
    "interest": (("phone", "every_other_month", ROUTINE),),
    "closed": (("visit", "every_six_months", ROUTINE),),
}

VISIT_PURPOSES = {
    "home_doctor": "방문진료",
    "home_nursing": "방문간호",
    "discharge_nursing": "퇴원 후 방문간호",
    "rehabilitation": "방문재활",
    "nutrition": "방문영양",
    "monitoring": "모니터링 방문",
    "escort": "이동동행",
    "first_assessment": "초기 방문평가",
}
PHONE_PURPOSES = {
    "monitoring": "안부 전화",
    "discharge_nursing": "퇴원 후 전화 상담",
}


def purpose_of(service_type: str, mode: str) -> str:
    """The Korean purpose printed on a coordinator's sheet."""
    visit = VISIT_PURPOSES.get(service_type, service_type)
    if mode == "phone":
        return PHONE_PURPOSES.get(service_type, f"{visit} 전화")
    return visit


# -- expansion -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Due:
    key: str
    client_id: int
    service_type: str
    mode: str
    first: dt.date  # the due window, not clipped to the horizon
    last: dt.date
    duration_min: int
    priority: int
    planned_service_id: int | None
    case_id: int | None


@dataclass(frozen=True, slots=True)
class _ClientRow:
    id: int
    code: str
    town_id: int | None
    latitude: float | None
    longitude: float | None
    risk_tier: str
    window_start: dt.time | None
    window_end: dt.time | None
    usual_staff_id: int | None


_PlaceOf = Callable[[_ClientRow, bool], tuple[str, Place]]


def _check_horizon(horizon_start: dt.date, horizon_end: dt.date) -> None:
    if horizon_end < horizon_start:
        raise ValidationError(
            "horizon_end",
            "the horizon must not end before it starts",
            f"{horizon_start.isoformat()}..{horizon_end.isoformat()}",
        )


def _clients(session: Session) -> dict[int, _ClientRow]:
    rows = session.execute(
        select(
            Client.id,
            Client.code,
            Client.town_id,
            Client.latitude,
            Client.longitude,
            Client.risk_tier,
            Client.preferred_window_start,
            Client.preferred_window_end,
            Client.usual_staff_id,
        )
    ).all()
    return {row[0]: _ClientRow(*row) for row in rows}


def _plan_services(
    session: Session,
    horizon: tuple[dt.date, dt.date],
    scope: ColumnElement[bool],
    keep: _Keep,
) -> list[_Due]:
    """Due windows of the active services of active care plans (newest plan first on a tie)."""
    horizon_start, horizon_end = horizon
    rows = session.execute(
        select(
            PlannedService.id,
            PlannedService.service_type,
            PlannedService.cadence,
            PlannedService.contacts_per_period,
            PlannedService.mode,
            PlannedService.duration_min,
            PlannedService.start_date,
            PlannedService.end_date,
            CarePlan.client_id,
            CarePlan.case_id,
            CarePlan.valid_from,
            CarePlan.valid_to,
            Client.code,
        )
        .join(CarePlan, CarePlan.id == PlannedService.care_plan_id)
        .join(Client, Client.id == CarePlan.client_id)
        .where(
            CarePlan.status == "active",
            CarePlan.valid_from <= horizon_end,
            or_(CarePlan.valid_to.is_(None), CarePlan.valid_to >= horizon_start),
            PlannedService.start_date <= horizon_end,
            or_(PlannedService.end_date.is_(None), PlannedService.end_date >= horizon_start),
            scope,
        )
        .order_by(CarePlan.client_id, CarePlan.version.desc(), PlannedService.id)
    ).all()
    due: list[_Due] = []
    for (
        ps_id,
        service_type,
        cadence,
        per_period,
        mode,
        duration,
        start,
        end,
        client_id,
        case_id,
        valid_from,
        valid_to,
        code,
    ) in rows:
        record = f"planned service {ps_id}"
        if cadence not in vocab.CADENCES:
            raise ValidationError(
                "planned_services.cadence",
                f"unknown cadence {cadence!r} (known: {', '.join(vocab.CADENCES)})",
                record,
            )
        if service_type not in SKILLS_BY_SERVICE:
            raise ValidationError(
                "planned_services.service_type", f"unknown service type {service_type!r}", record
            )
        if mode not in vocab.CONTACT_MODES:
            raise ValidationError("planned_services.mode", f"unknown contact mode {mode!r}", record)
        if not per_period or per_period < 1:
            raise ValidationError(
                "planned_services.contacts_per_period",
                f"contacts per period must be at least 1, not {per_period!r}",
                record,
            )
        if not duration or duration < 1:
            raise ValidationError(
                "planned_services.duration_min",
                f"duration must be positive, not {duration!r}",
                record,
            )
        if not keep(client_id, SKILLS_BY_SERVICE[service_type]):
            continue
        windows = cadence_windows(
            cadence,
            per_period,
            horizon_start,
            horizon_end,
            start,
            end,
            PACKAGE_WEEKS.get(service_type, DEFAULT_PACKAGE_WEEKS),
        )
        priority = HIGH if service_type == "discharge_nursing" else ROUTINE
        for label, n, first, last in windows:
            # The care plan's validity bounds the service too (the package keeps its anchor).
            first = max(first, valid_from)
            if valid_to is not None:
                last = min(last, valid_to)
            if first > last or first > horizon_end or last < horizon_start:
                continue
            due.append(
                _Due(
                    f"{code}:{service_type}:{mode}:{label}:{n}",
                    client_id,
                    service_type,
                    mode,
                    first,
                    last,
                    duration,
                    priority,
                    ps_id,
                    case_id,
                )
            )
    return due


def _open_cases(session: Session) -> dict[int, int]:
    """The newest case still open of each client (monitoring contacts refer to it)."""
    rows = session.execute(
        select(Case.client_id, func.max(Case.id))
        .where(Case.status != "closed")
        .group_by(Case.client_id)
    ).all()
    return {client_id: case_id for client_id, case_id in rows}


def _monitoring(
    clients: Iterable[_ClientRow],
    open_cases: dict[int, int],
    horizon_start: dt.date,
    horizon_end: dt.date,
) -> list[_Due]:
    due: list[_Due] = []
    for client in clients:
        contacts = TIER_MONITORING.get(client.risk_tier)
        if contacts is None:
            raise ValidationError(
                "clients.risk_tier",
                f"unknown risk tier {client.risk_tier!r} (known: {', '.join(vocab.RISK_TIERS)})",
                client.code,
            )
        for mode, cadence, priority in contacts:
            duration = CALL_MINUTES if mode == "phone" else MONITORING_VISIT_MINUTES
            for label, n, first, last in calendar_windows(cadence, 1, horizon_start, horizon_end):
                due.append(
                    _Due(
                        f"{client.code}:monitoring:{mode}:{label}:{n}",
                        client.id,
                        "monitoring",
                        mode,
                        first,
                        last,
                        duration,
                        priority,
                        None,
                        open_cases.get(client.id),
                    )
                )
    return due


def _remove_satisfied(
    session: Session, due: dict[str, _Due], horizon_start: dt.date, scope: ColumnElement[bool]
) -> None:
    """Drop the contacts a planned, booked or done visit already meets (one visit, one contact).

    Visits an earlier plan placed inside this horizon do not count: this plan replaces
    them (otherwise re-planning would see its own output as demand already met).
    """
    if not due:
        return
    first = min(d.first for d in due.values())
    last = max(d.last for d in due.values())
    groups: dict[tuple[int, str, str], list[_Due]] = defaultdict(list)
    for d in due.values():
        groups[(d.client_id, d.service_type, d.mode)].append(d)
    rows = session.execute(
        select(Visit.client_id, Visit.service_type, Visit.mode, Visit.visit_date)
        .join(Client, Client.id == Visit.client_id)
        .where(
            scope,
            Visit.status.in_(COUNTING_STATUSES),
            Visit.visit_date >= first,
            Visit.visit_date <= last,
            ~and_(
                Visit.source == "plan", Visit.status == "planned", Visit.visit_date >= horizon_start
            ),
        )
        .order_by(Visit.visit_date, Visit.id)
    ).all()
    for client_id, service_type, mode, day in rows:
        group = groups.get((client_id, service_type, mode))
        if not group:
            continue
        # Earliest-ending open window first: the greedy that meets the most contacts.
        candidates = [d for d in group if d.first <= day <= d.last]
        if candidates:
            met = min(candidates, key=lambda d: (d.last, d.first, d.key))
            group.remove(met)
            del due[met.key]


def expand_demand(
    session: Session,
    horizon_start: dt.date,
    horizon_end: dt.date,
    served: ServedBy | None = None,
) -> list[DueContact]:
    """Every visit and call due between ``horizon_start`` and ``horizon_end`` (inclusive);
    with ``served``, only those that town's team may serve (a routing job needs no
    more, and in a big county that saves it most of the work).

    Sorted by key; the same data always gives the same contacts. Raises
    :class:`ValidationError` naming the record for a client with visits due but no
    home coordinates (or no town), and for a planned service with an unknown cadence,
    service type or mode.
    """
    _check_horizon(horizon_start, horizon_end)
    clients = _clients(session)
    scope, keep = served_scope(session, {c.id: c.town_id for c in clients.values()}, served)
    towns = {
        row[0]: (row[1], Place(row[2], row[3]))
        for row in session.execute(select(Town.id, Town.code, Town.latitude, Town.longitude))
    }
    staff_codes = {row[0]: row[1] for row in session.execute(select(Staff.id, Staff.code))}

    due: dict[str, _Due] = {}
    for d in _plan_services(session, (horizon_start, horizon_end), scope, keep):
        due.setdefault(d.key, d)
    monitored = SKILLS_BY_SERVICE["monitoring"]
    ordered = sorted((c for c in clients.values() if keep(c.id, monitored)), key=lambda c: c.code)
    for d in _monitoring(ordered, _open_cases(session), horizon_start, horizon_end):
        due.setdefault(d.key, d)  # a care plan's own monitoring service wins
    _remove_satisfied(session, due, horizon_start, scope)

    contacts: list[DueContact] = []
    places: dict[int, Place] = {}
    with_visits = {d.client_id for d in due.values() if d.mode == "visit"}

    def place_of(client: _ClientRow, visit: bool) -> tuple[str, Place]:
        town = towns.get(client.town_id) if client.town_id is not None else None
        if town is None:
            raise ValidationError(
                "clients.town_id", "a client with contacts due needs a town", client.code
            )
        if client.latitude is None or client.longitude is None:
            if visit:
                raise ValidationError(
                    "clients.latitude",
                    "a client with visits due needs home coordinates",
                    client.code,
                )
            return town[0], town[1]  # a call needs no travel: the town office stands in
        place = places.get(client.id)
        if place is None:
            place = places[client.id] = Place(client.latitude, client.longitude)
        return town[0], place

    for d in sorted(due.values(), key=lambda d: d.key):
        client = clients[d.client_id]
        town_code, place = place_of(client, d.client_id in with_visits)
        contacts.append(
            DueContact(
                key=d.key,
                client_id=client.id,
                client_code=client.code,
                town_code=town_code,
                place=place,
                service_type=d.service_type,
                mode=d.mode,
                skill=SKILLS_BY_SERVICE[d.service_type],
                duration_min=d.duration_min,
                earliest=max(d.first, horizon_start),
                latest=min(d.last, horizon_end),
                due_by=d.last,
                purpose=purpose_of(d.service_type, d.mode),
                window_start=client.window_start,  # a call, too, is made when the client wants
                window_end=client.window_end,
                usual_staff_code=staff_codes.get(client.usual_staff_id)
                if client.usual_staff_id is not None
                else None,
                priority=d.priority,
                planned_service_id=d.planned_service_id,
                case_id=d.case_id,
            )
        )
    contacts.extend(
        _fixed(session, clients, staff_codes, place_of, (horizon_start, horizon_end), scope, keep)
    )
    return contacts


def _urgent_window(
    client: _ClientRow, deadline: dt.time | None, duration_min: int
) -> tuple[dt.time | None, dt.time | None]:
    """The client's window, ended by the visit's deadline if it has one; a preference
    that leaves no room before the deadline gives way (safety first)."""
    start, end = client.window_start, client.window_end
    if deadline is None:
        return start, end
    end = deadline if end is None else min(end, deadline)
    latest_start = dt.datetime.combine(dt.date.min, end) - dt.timedelta(minutes=duration_min)
    if start is not None and start > latest_start.time():
        start = None
    return start, end


def _fixed(
    session: Session,
    clients: dict[int, _ClientRow],
    staff_codes: dict[int, str],
    place_of: _PlaceOf,
    horizon: tuple[dt.date, dt.date],
    scope: ColumnElement[bool],
    keep: _Keep,
) -> list[DueContact]:
    """Urgent visits already booked in the horizon: the router keeps them on their day."""
    horizon_start, horizon_end = horizon
    rows = session.execute(
        select(
            Visit.id,
            Visit.client_id,
            Visit.service_type,
            Visit.mode,
            Visit.visit_date,
            Visit.duration_min,
            Visit.purpose,
            Visit.case_id,
            Visit.planned_service_id,
            Visit.staff_id,
            Visit.source,
        )
        .join(Client, Client.id == Visit.client_id)
        .where(
            scope,
            Visit.status.in_(FIXED_STATUSES),
            Visit.source.in_(URGENT_SOURCES),
            Visit.visit_date >= horizon_start,
            Visit.visit_date <= horizon_end,
        )
        .order_by(Visit.visit_date, Visit.id)
    ).all()
    fixed = []
    for (
        visit_id,
        client_id,
        service_type,
        mode,
        day,
        duration,
        purpose,
        case_id,
        ps_id,
        staff,
        source,
    ) in rows:
        client = clients[client_id]
        skill = SKILLS_BY_SERVICE.get(service_type)
        if skill is None:
            raise ValidationError(
                "visits.service_type", f"unknown service type {service_type!r}", f"visit {visit_id}"
            )
        if not keep(client_id, skill):
            continue
        town_code, place = place_of(client, mode == "visit")
        usual = staff if staff is not None else client.usual_staff_id
        window = _urgent_window(client, URGENT_DEADLINES.get(source), duration)
        fixed.append(
            DueContact(
                key=f"{client.code}:{service_type}:{mode}:{day.isoformat()}:v{visit_id}",
                client_id=client.id,
                client_code=client.code,
                town_code=town_code,
                place=place,
                service_type=service_type,
                mode=mode,
                skill=skill,
                duration_min=duration,
                earliest=day,
                latest=day,
                purpose=purpose or purpose_of(service_type, mode),
                window_start=window[0],
                window_end=window[1],
                usual_staff_code=staff_codes.get(usual) if usual is not None else None,
                priority=URGENT,
                planned_service_id=ps_id,
                case_id=case_id,
                fixed_visit_id=visit_id,
            )
        )
    return fixed


def outlook(session: Session, month_start: dt.date) -> dict[str, int]:
    """Due contacts per skill in the calendar month of ``month_start`` (every skill listed)."""
    first = month_start.replace(day=1)
    last = add_months(first, 1) - dt.timedelta(days=1)
    counts = dict.fromkeys(vocab.SKILLS, 0)
    for contact in expand_demand(session, first, last):
        counts[contact.skill] = counts.get(contact.skill, 0) + 1
    return counts


__all__ = [
    "TIER_MONITORING",
    "cadence_windows",
    "expand_demand",
    "outlook",
    "purpose_of",
]
