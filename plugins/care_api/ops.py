"""The administrators' "Care operations" page, shown inside the Airflow UI.

The care API serves it at ``/ops/`` (``/care/ops/`` in Airflow's API server, where the
plugin mounts the care API); the plugin's external view puts it in Airflow's menu as
an iframe of the same origin. The iframe proves nothing: every request must carry
Airflow's own token, the ``_token`` cookie Airflow's login sets (or a bearer token
from ``POST /auth/token``), and it is verified by Airflow's auth manager (signature,
expiry, revocation). Without it: 401, and nothing about the care data.

- ``GET /ops/``: the page (workflow runs from Airflow's metadata; the rest from
  :func:`care_models.ops_overview.ops_overview`);
- ``POST /ops/quarantine/{id}``: release or discard a quarantined row (form field
  ``action``), audited under the Airflow user's name.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from care_api.app import ApiError, CareState, state_of
from care_api.staff import environment, read_form
from care_models.db import transaction
from care_models.errors import NotFoundError, ValidationError
from care_models.ops_overview import ops_overview, settle_quarantined
from care_models.tokens import utcnow

log = logging.getLogger(__name__)
router = APIRouter(prefix="/ops", include_in_schema=False)
AIRFLOW_COOKIE = "_token"  # airflow.api_fastapi.auth.managers.base_auth_manager
OPS_CSP = (
    "default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)
WORKFLOW_RUNS = 5


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.cookies.get(AIRFLOW_COOKIE) or None


async def airflow_user(request: Request) -> str:
    """The Airflow user of the request's token, verified by Airflow's auth manager."""
    token = _token(request)
    if token is None:
        raise ApiError(401, "login", "token", "sign in to Airflow to see this page")
    try:
        from airflow.api_fastapi.app import create_auth_manager

        user = await create_auth_manager().get_user_from_token(token)
    except ImportError:
        raise ApiError(503, "exception", "airflow", "this page lives inside Airflow") from None
    except Exception:  # an invalid, expired or revoked token: the same answer
        raise ApiError(401, "login", "token", "the Airflow token is not valid") from None
    return str(user.get_name())


AirflowUser = Annotated[str, Depends(airflow_user)]


def workflow_runs() -> list[dict[str, Any]] | None:
    """Each DAG's last runs from Airflow's metadata (None outside Airflow)."""
    try:
        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session
        from sqlalchemy import func, select
    except ImportError:
        return None
    try:
        with create_session() as session:
            ranked = select(
                DagRun.dag_id,
                DagRun.run_id,
                DagRun.state,
                DagRun.start_date,
                DagRun.end_date,
                func.row_number()
                .over(partition_by=DagRun.dag_id, order_by=DagRun.id.desc())
                .label("n"),
            ).subquery()
            rows = session.execute(
                select(ranked).where(ranked.c.n <= WORKFLOW_RUNS).order_by(ranked.c.dag_id)
            ).all()
    except Exception as error:  # the metadata database is Airflow's: report, don't fail
        log.warning("workflow runs unavailable: %s", type(error).__name__)
        return None
    return [
        {
            "dag_id": r.dag_id,
            "run_id": r.run_id,
            "state": str(getattr(r.state, "value", r.state)),
            "started": r.start_date,
            "duration": (r.end_date - r.start_date) if r.start_date and r.end_date else None,
        }
        for r in rows
    ]


def _render(care: CareState, user: str, message: str | None, error: str | None) -> HTMLResponse:
    now = utcnow()
    with care.factory()() as session:
        overview = ops_overview(session, now, care.settings.output_dir)
        nonce = secrets.token_urlsafe(16)
        html = (
            environment()
            .get_template("ops.html")
            .render(
                nonce=nonce,
                title="Care operations",
                user=user,
                o=overview,
                runs=workflow_runs(),
                message=message,
                error=error,
                seoul=lambda t: t.astimezone(dt.timezone(dt.timedelta(hours=9))).strftime(
                    "%m-%d %H:%M"
                ),
            )
        )
    headers = {
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "SAMEORIGIN",
        "Content-Security-Policy": OPS_CSP.format(nonce=nonce),
    }
    return HTMLResponse(html, headers=headers)


@router.get("/")
async def ops_page(request: Request, user: AirflowUser) -> HTMLResponse:
    done = request.query_params.get("done")
    message = {"release": "풀어주었습니다.", "discard": "폐기했습니다."}.get(done or "")
    return await run_in_threadpool(_render, state_of(request), user, message, None)


def _settle(care: CareState, row_id: int, action: str, user: str) -> None:
    with transaction(care.factory()) as session:
        settle_quarantined(session, row_id, action, f"airflow:{user}", utcnow())


@router.post("/quarantine/{row_id}")
async def settle(request: Request, row_id: int, user: AirflowUser) -> Response:
    form = await read_form(request)
    action = form.get("action", "")
    care = state_of(request)
    try:
        await run_in_threadpool(_settle, care, row_id, action, user)
    except (ValidationError, NotFoundError) as refused:
        page = await run_in_threadpool(_render, care, user, None, str(refused))
        page.status_code = 422 if isinstance(refused, ValidationError) else 404
        return page
    return RedirectResponse(f"../?done={action}", status_code=303)
