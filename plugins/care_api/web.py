"""The referral web page, for partner hospitals without a FHIR system.

Two Korean pages (``/web/referrals``: the hospital's referrals and their status;
``/web/referrals/new``: a referral form) and the one script they use. The pages hold
no data and need no login: the script asks for the hospital's API token (kept in
``sessionStorage`` only), builds the same transaction Bundle as
:func:`care_models.synthetic.referrals.build_bundle` and talks to the token-checked
FHIR endpoints of :mod:`care_api.app`. Every URL is relative, so the app works under
a prefix (``/care`` inside Airflow's API server). Templates autoescape; the script
writes data with ``textContent`` only, and a strict Content-Security-Policy allows
nothing but this origin's script.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from care_models.fhir.bundle import ADL_ACTIVITIES, MAX_DISCHARGE_AHEAD_DAYS, NEED_CODES

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
# The only files GET /web/static/{name} serves, and their media types.
STATIC_FILES = {"referral.js": "text/javascript; charset=utf-8"}

TASK_STATUS_LABELS = {
    "received": "접수",
    "accepted": "수락",
    "rejected": "반려",
    "on-hold": "보류",
    "in-progress": "진행 중",
    "completed": "완료",
    "cancelled": "취소",
    "requested": "요청",
    "ready": "준비",
    "failed": "실패",
    "draft": "작성 중",
    "entered-in-error": "오류 입력",
}
NEED_LABELS = {
    "home_medical": "재택의료",
    "nursing": "방문간호",
    "rehabilitation": "재활",
    "nutrition": "영양 관리",
    "mental_health": "정신건강",
    "long_term_care": "장기요양",
    "daily_care": "일상생활 돌봄",
    "housing": "주거 지원",
    "meals": "식사 지원",
    "transport": "이동 지원",
    "safety": "안전 확인",
}
ADL_LABELS = {
    "eating": "식사",
    "toileting": "용변",
    "dressing": "옷 입기",
    "bathing": "목욕",
    "walking": "보행",
}
GENDER_LABELS = {"female": "여성", "male": "남성", "other": "기타", "unknown": "알 수 없음"}
# Korean names of the form fields, for the error summary.
FIELD_LABELS = {
    "name": "환자 이름",
    "sex": "성별",
    "birth_date": "생년월일",
    "rrn": "주민등록번호",
    "phone": "전화번호",
    "address": "주소",
    "admission": "입원일",
    "discharge": "퇴원(예정)일",
    "discharged": "퇴원 여부",
    "diagnosis": "주 진단",
    "needs": "필요 서비스",
    "adl": "일상생활 어려움",
    "household_size": "동거 인원",
    "number": "의뢰번호",
}

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'nonce-{nonce}'; connect-src 'self'; "
    "img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)

router = APIRouter(prefix="/web", include_in_schema=False)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _labels() -> dict[str, Any]:
    """What the script needs to know, embedded in the page as JSON."""
    return {
        "status": TASK_STATUS_LABELS,
        "need": {code: NEED_LABELS.get(code, code) for code in NEED_CODES},
        "adl": {code: ADL_LABELS.get(code, code) for code in ADL_ACTIVITIES},
        "field": FIELD_LABELS,
    }


def _security_headers(nonce: str | None = None, policy: str = CSP) -> dict[str, str]:
    """The pages' headers; with a nonce, ``policy`` (formatted with it) as their CSP."""
    headers = {
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }
    if nonce is not None:
        headers["Content-Security-Policy"] = policy.format(nonce=nonce)
    return headers


def _page(template: str, *, page: str, root: str, title: str) -> HTMLResponse:
    """Render a page; ``root`` is the relative path from the page to ``/web/``."""
    nonce = secrets.token_urlsafe(16)
    html = (
        _environment()
        .get_template(template)
        .render(
            nonce=nonce,
            page=page,
            root=root,
            title=title,
            labels=_labels(),
            needs=[(code, NEED_LABELS.get(code, code)) for code in NEED_CODES],
            adl=[(code, ADL_LABELS.get(code, code)) for code in ADL_ACTIVITIES],
            genders=list(GENDER_LABELS.items()),
            max_ahead=MAX_DISCHARGE_AHEAD_DAYS,
        )
    )
    return HTMLResponse(html, headers=_security_headers(nonce))


@router.get("/")
def web_home() -> Response:
    # A relative Location keeps any prefix the app is mounted under.
    return RedirectResponse("referrals", status_code=303, headers=_security_headers())


@router.get("/referrals")
def referral_list() -> HTMLResponse:
    return _page("referrals.html", page="list", root="", title="의뢰 목록")


@router.get("/referrals/new")
def referral_form() -> HTMLResponse:
    return _page("referral_form.html", page="form", root="../", title="새 의뢰")


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        return Response("Not Found", status_code=404, media_type="text/plain")
    content = (STATIC_DIR / name).read_bytes()
    headers = _security_headers() | {"Cache-Control": "no-cache"}
    return Response(content, media_type=media_type, headers=headers)
