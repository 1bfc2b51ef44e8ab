"""A coordinator's own visits as an iCalendar feed, for calendar apps."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from care_api.app import (
    ApiError,
    Bearer,
    CareState,
    bearer_token,
    client_address,
    count_failed_login,
    refuse_blocked_address,
    state_of,
)
from care_models.schema import Visit
from care_models.tokens import staff_for_token
from care_models.visits.publish import ics_feed
from care_models.workdays import seoul_today

router = APIRouter()


@router.get("/feeds/visits/{staff_code}.ics", include_in_schema=False)
def visit_calendar(
    staff_code: str, request: Request, credentials: Bearer, token: str = ""
) -> Response:
    """A coordinator's own visits as an iCalendar feed (calendar apps send no headers,
    so the token may come as ``?token=``); other coordinators' feeds are refused."""
    secret = bearer_token(credentials) or token
    care = state_of(request)
    body = _calendar(care, staff_code, secret, client_address(request))
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, no-store"},
    )


def _calendar(care: CareState, staff_code: str, secret: str, address: str) -> bytes:
    vault = care.keys()
    if secret:
        refuse_blocked_address(care, address, "token")
    with care.factory()() as session, session.begin():
        staff = staff_for_token(session, vault, staff_code, secret)
        if staff is None:
            if secret:
                count_failed_login(care, address)
            raise ApiError(
                401,
                "login",
                "token",
                "the calendar token is not valid",
                {"WWW-Authenticate": "Bearer"},
            )
        since = seoul_today() - dt.timedelta(days=7)
        visits = list(
            session.scalars(
                select(Visit).where(
                    Visit.staff_id == staff.id,
                    Visit.visit_date >= since,
                    Visit.status.in_(("planned", "booked")),
                )
            )
        )
        return ics_feed(session, staff_code, visits)  # codes, times and towns: no reveal
