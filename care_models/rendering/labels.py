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


ALERT_KIND_LABELS = {
    "no_activity": "활동 미감지",
    "power_no_change": "전력 사용 변화 없음",
    "missed_call": "AI 안부전화 미응답",
    "abnormal_answer": "AI 안부전화 이상 응답",
    "sos": "SOS 음성 호출",
    "fire": "화재",
    "gas": "가스",
    "emergency_button": "응급호출 버튼",
    "door": "출입문 센서",
    "heartbeat_missing": "기기 신호 없음",
    "low_battery": "배터리 부족",
    "device_offline": "기기 오프라인",
    "silent_device": "고위험 대상자 기기 하루 이상 무신호",
}
DEVICE_TYPE_LABELS = {
    "smart_plug": "스마트 플러그",
    "emergency_sensor": "응급안전안심 장비",
    "ai_call": "AI 안부전화",
    "ai_speaker": "AI 스피커",
}
ESCALATION_STEP_LABELS = {
    "critical_notify": "긴급 신호 즉시 대응",
    "day1_call": "1일차 전화 확인",
    "day1_text_message": "1일차 문자 발송",
    "day1_door_visit": "1일차 방문 (방문 스티커)",
    "day2_home_visit": "2일차 가정방문 (12시까지)",
    "day2_police_report": "2일차 경찰 실종 신고",
}
STEP_OUTCOME_LABELS = {
    "acknowledged": "확인함",
    "reached": "본인과 연락됨",
    "no_answer": "받지 않음",
    "sent": "발송됨",
    "replied": "답장 받음",
    "undeliverable": "발송 실패",
    "sticker_left": "방문 스티커 부착",
    "whereabouts_known": "소재 확인 (입원 등)",
    "not_found": "찾지 못함",
    "no_entry": "들어가지 못함",
    "found": "경찰이 찾음",
    "reported": "신고 접수됨",
}
SEX_LABELS = {"female": "여", "male": "남", "F": "여", "M": "남"}
NEED_CATEGORY_LABELS = {
    "health_medical": "보건의료",
    "care_ltc": "돌봄·요양",
    "housing": "주거",
    "daily_living": "일상생활",
    "safety_other": "안전·기타",
}
AGENDA_KIND_LABELS = {
    "new_plan": "신규 계획",
    "review": "계획 재검토",
    "pending": "보류 결정",
    "high_risk": "고위험",
    "alert_escalation": "안부 경보",
    "escalated": "2단계 회부",
    "carried_over": "이월",
}
DECISION_LABELS = {
    "approve": "계획 승인",
    "change_plan": "계획 변경",
    "link_service": "서비스 연계",
    "refer_tier2": "2단계 회부",
    "close_case": "사례 종결",
    "defer": "보류",
}
CADENCE_LABELS = {
    "monthly": "월 1회",
    "twice_monthly": "월 2회",
    "weekly": "주 1회",
    "every_other_month": "격월",
    "quarterly": "분기",
    "every_six_months": "6개월",
    "package": "묶음",
    "once": "1회",
}
