"""The day-2 home visit's checklist, printed on the visiting worker's day sheet.

The Suyeong-gu protocol: when nobody opens the door on day 2, the worker asks, in
this order, before the police are called. The hospital question applies to
medical-aid recipients, whose hospital stays the district can look up.
"""

from __future__ import annotations

import datetime as dt

DAY2_VISIT_KEY = "incident:{incident_id}:day2_home_visit"  # the visit's natural key
DAY2_VISIT_KEY_PATTERN = "incident:%:day2_home_visit"  # the same, for SQL LIKE
DAY2_DEADLINE = dt.time(12, 0)  # the day-2 visit is made by noon, whoever replans it

HOSPITAL_CHECK = "의료급여 수급자: 입원·병원 이용 여부 조회"
DAY2_CHECKS = (
    "집주인·이웃에게 최근 모습 확인",
    "가족(보호자)에게 연락",
    "응답이 없으면 경찰과 함께 문 개방",
    "결과 기록: 만남 / 소재 확인 / 찾지 못함 / 들어가지 못함",
)


def day2_checklist(medical_aid: bool) -> tuple[str, ...]:
    """What the day-2 visitor checks, in order."""
    return (HOSPITAL_CHECK, *DAY2_CHECKS) if medical_aid else DAY2_CHECKS
