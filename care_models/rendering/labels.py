"""Korean labels shown on printed and published documents."""

from __future__ import annotations

import datetime as dt

SERVICE_LABELS = {
    "home_doctor": "방문진료",
    "home_nursing": "방문간호",
    "discharge_nursing": "퇴원 후 방문간호",
    "rehabilitation": "방문재활",
    "nutrition": "방문영양",
    "monitoring": "안부 확인",
    "escort": "이동동행",
    "first_assessment": "초기 방문 평가",
}
MODE_LABELS = {"visit": "방문", "phone": "전화"}
ROLE_LABELS = {
    "nurse": "간호사",
    "social_worker": "사회복지사",
    "doctor": "의사",
    "rehabilitation": "재활치료사",
    "nutrition": "영양사",
    "team_lead": "팀장",
}
WEEKDAYS = "월화수목금토일"
PRIVACY_NOTICE = (
    "이 문서에는 개인정보가 포함되어 있습니다. 업무 목적 외 사용·복사·전달을 금지하며, "
    "사용 후 즉시 파기하십시오."
)


def korean_date(day: dt.date) -> str:
    """``2026년 3월 9일 (월)``."""
    return f"{day.year}년 {day.month}월 {day.day}일 ({WEEKDAYS[day.weekday()]})"


def short_date(day: dt.date) -> str:
    """``3/9 (월)``."""
    return f"{day.month}/{day.day} ({WEEKDAYS[day.weekday()]})"
