"""A seeded, deterministic, realistic rural county for the demo, the tests and benchmarks.

Modelled on a county such as Jincheon-gun (DOMAIN.md): 7 towns, about 450 clients
with Korean names and addresses, about 12 coordinators, 8 partner hospitals (3 of
them outside the county), service providers and devices of three vendor types.
One parameter, ``clients``, scales it up (to 100,000 for benchmarks); staff grow in
proportion. All personal values are invented; resident registration numbers have a
valid check digit but belong to no one.

:func:`build_county` is pure (same seed, same county);
:func:`care_models.synthetic.load.load_county` writes it to the database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from care_models.privacy import PersonalFields

PROVINCE = "충청북도"
COUNTY = "진천군"
LEAVE_FROM = dt.date(2026, 11, 2)
LEAVE_TO = dt.date(2027, 12, 31)
CASES_OPENED_FROM = dt.date(2025, 1, 6)


@dataclass(frozen=True)
class TownSpec:
    code: str
    name: str
    kind: str
    latitude: float
    longitude: float
    share: float  # share of the county's clients
    offices: int  # coordinators based at this town's office (at the 450-client scale)
    villages: tuple[str, ...]


TOWNS: tuple[TownSpec, ...] = (
    TownSpec(
        "JC-01",
        "진천읍",
        "eup",
        36.8553,
        127.4356,
        0.33,
        4,
        ("읍내리", "벽암리", "신정리", "성석리", "교성리", "가산리", "장관리", "행정리"),
    ),
    TownSpec(
        "JC-02",
        "덕산읍",
        "eup",
        36.9018,
        127.5296,
        0.20,
        2,
        ("용몽리", "구산리", "화상리", "석장리", "두촌리", "합목리"),
    ),
    TownSpec(
        "JC-03",
        "초평면",
        "myeon",
        36.8237,
        127.4942,
        0.08,
        1,
        ("용정리", "금곡리", "오갑리", "은암리", "화산리"),
    ),
    TownSpec(
        "JC-04",
        "문백면",
        "myeon",
        36.7989,
        127.4215,
        0.08,
        1,
        ("평산리", "구곡리", "봉죽리", "사양리", "은탄리"),
    ),
    TownSpec(
        "JC-05",
        "백곡면",
        "myeon",
        36.8860,
        127.3710,
        0.08,
        1,
        ("구수리", "석현리", "사송리", "갈월리", "양백리"),
    ),
    TownSpec(
        "JC-06",
        "이월면",
        "myeon",
        36.9022,
        127.4335,
        0.10,
        1,
        ("중산리", "노원리", "송림리", "사곡리", "신계리"),
    ),
    TownSpec(
        "JC-07",
        "광혜원면",
        "myeon",
        36.9605,
        127.4447,
        0.13,
        2,
        ("광혜원리", "실원리", "회죽리", "구암리", "월성리"),
    ),
)

# (code, name, in county, town code or None, latitude, longitude)
HOSPITALS: tuple[tuple[str, str, bool, str | None, float, float], ...] = (
    ("H-JC-GEN", "진천중앙병원", True, "JC-01", 36.8571, 127.4399),
    ("H-JC-REH", "진천재활요양병원", True, "JC-01", 36.8492, 127.4470),
    ("H-DS-MED", "덕산미래병원", True, "JC-02", 36.9071, 127.5262),
    ("H-KH-CLN", "광혜원서울의원", True, "JC-07", 36.9588, 127.4471),
    ("H-JC-KMD", "진천한방병원", True, "JC-01", 36.8533, 127.4302),
    ("H-CJ-UNI", "청주한빛대학병원", False, None, 36.6290, 127.4590),
    ("H-ES-GEN", "음성참사랑병원", False, None, 36.9402, 127.6904),
    ("H-CA-CEN", "천안중부병원", False, None, 36.8151, 127.1139),
)
PROVIDERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("P-HOMECARE", "진천재가복지센터", ("escort", "monitoring")),
    ("P-NURSING", "진천방문간호센터", ("home_nursing", "discharge_nursing")),
    ("P-REHAB", "생거재활방문센터", ("rehabilitation",)),
    ("P-MEALS", "진천영양나눔", ("nutrition",)),
    ("P-HOUSING", "행복주거개선사업단", ()),
    ("P-SENIOR", "진천노인맞춤돌봄수행기관", ("monitoring",)),
)
VENDORS: tuple[tuple[str, str, str], ...] = (
    ("V-PLUG", "스마트플러그케어", "smart_plug"),
    ("V-SENSOR", "안전센서원", "emergency_sensor"),
    ("V-AICALL", "AI안부콜", "ai_call"),
    ("V-SPEAKER", "AI스피커", "ai_speaker"),
)
# Devices drawn per client come from the first three vendors only: speakers are handed out
# by the alerts fleet with its own random stream, so adding them left this county unchanged.
CLIENT_DEVICE_VENDORS = VENDORS[:3]
# The device programmes in the proportions counties run them (the seed cards): AI
# check-in calls reach most older people living alone (Namwon called 1,000
# households), the emergency-safety gateways those living alone in the at-risk and
# caution tiers, smart plugs a pilot (Gimcheon fitted 60 households). Fitted after the
# clients with their own random stream, so the rest of the county stays as it was.
# (vendor, household types, risk tiers, share of those clients)
FLEET_PROGRAMMES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], float], ...] = (
    ("V-AICALL", ("living_alone",), ("at_risk", "caution", "interest"), 0.5),
    ("V-AICALL", ("older_couple",), ("at_risk", "caution"), 0.15),
    ("V-SENSOR", ("living_alone",), ("at_risk", "caution"), 0.4),
    ("V-PLUG", ("living_alone",), ("at_risk",), 0.2),
)
FLEET_SEED = 0x5EED

SURNAMES = (
    ("김", 21.5),
    ("이", 14.7),
    ("박", 8.4),
    ("최", 4.7),
    ("정", 4.3),
    ("강", 2.3),
    ("조", 2.1),
    ("윤", 2.0),
    ("장", 2.0),
    ("임", 1.6),
    ("한", 1.5),
    ("오", 1.5),
    ("서", 1.4),
    ("신", 1.4),
    ("권", 1.4),
    ("황", 1.3),
    ("안", 1.3),
    ("송", 1.2),
    ("전", 1.1),
    ("홍", 1.1),
    ("유", 1.0),
    ("고", 0.9),
    ("문", 0.9),
    ("양", 0.8),
)
FEMALE_NAMES = (
    "순자",
    "영자",
    "정자",
    "옥순",
    "말순",
    "영숙",
    "정순",
    "춘자",
    "복순",
    "명자",
    "금순",
    "옥자",
    "경자",
    "숙자",
    "순옥",
    "점순",
    "분이",
    "귀녀",
    "영희",
    "미숙",
)
MALE_NAMES = (
    "영수",
    "영호",
    "정호",
    "상철",
    "병철",
    "종수",
    "성수",
    "재호",
    "광수",
    "만수",
    "동수",
    "기철",
    "용철",
    "춘식",
    "길수",
    "태식",
    "봉수",
    "현수",
    "경호",
    "창수",
)
STAFF_ROLES_AT_SCALE = (
    "doctor",
    "nurse",
    "social_worker",
    "nurse",
    "social_worker",
    "nurse",
    "social_worker",
    "nurse",
    "social_worker",
    "nurse",
    "social_worker",
    "social_worker",
)
NEED_WEIGHTS = (
    ("health_medical", 1221),
    ("housing", 247),
    ("care_ltc", 178),
    ("daily_living", 139),
    ("safety_other", 29),
)
NEED_CODES = {
    "health_medical": ("chronic_disease", "medication", "home_medical", "dental", "mental_health"),
    "housing": ("repair", "heating", "barrier_free", "relocation"),
    "care_ltc": ("ltc_application", "home_care", "day_care", "respite"),
    "daily_living": ("meals", "housework", "transport", "social_isolation"),
    "safety_other": ("safety_device", "fire_gas_sensor", "legal", "financial_crisis"),
}
TIER_WEIGHTS = (("at_risk", 30), ("caution", 30), ("interest", 25), ("closed", 15))
HOUSEHOLD_WEIGHTS = (
    ("living_alone", 50),
    ("older_couple", 22),
    ("with_family", 20),
    ("severe_illness_pair", 5),
    ("other", 3),
)
LTC_WEIGHTS = (
    ("none", 45),
    ("1", 2),
    ("2", 4),
    ("3", 8),
    ("4", 12),
    ("5", 6),
    ("cognitive", 3),
    ("A", 12),
    ("B", 8),
)
WINDOWS = ((dt.time(10), dt.time(12)), (dt.time(14), dt.time(17)), (dt.time(9), dt.time(11)))


# -- plain specifications (pure) --------------------------------------------------------


@dataclass
class StaffSpec:
    code: str
    name: str
    role: str
    skills: list[str]
    town_code: str
    max_visits_per_day: int
    leave: list[dt.date]


@dataclass
class ServiceSpec:
    service_type: str
    cadence: str
    contacts_per_period: int
    mode: str
    required_skill: str
    duration_min: int
    intensive: bool = False
    provider_code: str | None = None


@dataclass
class ClientSpec:
    code: str
    person: PersonalFields
    sex: str
    town_code: str
    latitude: float
    longitude: float
    household_type: str
    risk_tier: str
    ltc_grade: str
    basic_livelihood: bool
    medical_aid: bool
    consent_given: bool
    window: tuple[dt.time, dt.time] | None
    usual_staff_code: str | None
    case_opened_on: dt.date | None = None
    needs: list[tuple[str, str]] = field(default_factory=list)
    services: list[ServiceSpec] = field(default_factory=list)
    devices: list[tuple[str, str]] = field(default_factory=list)  # (vendor code, external id)


@dataclass
class County:
    seed: int
    towns: tuple[TownSpec, ...]
    staff: list[StaffSpec]
    clients: list[ClientSpec]


def _weighted(rng: random.Random, weights: Sequence[tuple[str, float]]) -> str:
    return rng.choices([w[0] for w in weights], weights=[w[1] for w in weights])[0]


def _rrn(rng: random.Random, birth: dt.date, sex: str) -> str:
    century = 1 if birth.year < 2000 else 3
    gender_digit = century + (0 if sex == "male" else 1)
    digits = f"{birth:%y%m%d}{gender_digit}{rng.randrange(10**5):05d}"
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    check = (11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11) % 10
    return f"{digits[:6]}-{digits[6:]}{check}"


def _phone(rng: random.Random) -> str:
    if rng.random() < 0.25:  # landline in the county's 043-53x exchange
        return f"043-53{rng.randrange(10)}-{rng.randrange(10000):04d}"
    return f"010-{rng.randrange(2000, 10000):04d}-{rng.randrange(10000):04d}"


def _staff(rng: random.Random, clients: int) -> list[StaffSpec]:
    scale = max(1, math.ceil(clients / 450))
    offices = [t.code for t in TOWNS for _ in range(t.offices)]
    staff: list[StaffSpec] = []
    for batch in range(scale):
        for i, (role, town_code) in enumerate(zip(STAFF_ROLES_AT_SCALE, offices, strict=True)):
            number = batch * len(offices) + i + 1
            sex = "female" if role == "nurse" or rng.random() < 0.6 else "male"
            names = FEMALE_NAMES if sex == "female" else MALE_NAMES
            skills = [role if role != "team_lead" else "social_worker"]
            if role == "nurse" and i in (3, 5):
                skills.append("rehabilitation" if i == 3 else "nutrition")
            leave_days = sorted(
                {
                    LEAVE_FROM + dt.timedelta(days=rng.randrange((LEAVE_TO - LEAVE_FROM).days))
                    for _ in range(12)
                }
            )
            staff.append(
                StaffSpec(
                    code=f"S{number:04d}",
                    name=_weighted(rng, SURNAMES) + rng.choice(names),
                    role=role,
                    skills=skills,
                    town_code=town_code,
                    max_visits_per_day=6 if role == "doctor" else 8,
                    leave=leave_days,
                )
            )
    return staff


def _services(rng: random.Random, tier: str, ltc: str) -> list[ServiceSpec]:
    services: list[ServiceSpec] = []
    frail = ltc in ("1", "2", "3", "4", "5", "cognitive")
    if frail or tier == "at_risk" or rng.random() < 0.3:
        services.append(
            ServiceSpec(
                "home_nursing", "twice_monthly", 2, "visit", "nurse", 40, provider_code="P-NURSING"
            )
        )
    if (frail and rng.random() < 0.35) or rng.random() < 0.08:
        services.append(ServiceSpec("home_doctor", "monthly", 1, "visit", "doctor", 30))
    if rng.random() < 0.12:
        intensive = rng.random() < 0.3
        services.append(
            ServiceSpec(
                "rehabilitation",
                "package",
                4 if intensive else 2,
                "visit",
                "rehabilitation",
                50,
                intensive,
                "P-REHAB",
            )
        )
    if rng.random() < 0.08:
        intensive = rng.random() < 0.3
        services.append(
            ServiceSpec(
                "nutrition",
                "package",
                3 if intensive else 1,
                "visit",
                "nutrition",
                40,
                intensive,
                "P-MEALS",
            )
        )
    if rng.random() < 0.05:  # recent discharge: the 9-contact nursing package
        services.append(ServiceSpec("discharge_nursing", "package", 5, "visit", "nurse", 45))
        services.append(ServiceSpec("discharge_nursing", "package", 4, "phone", "nurse", 15))
    if rng.random() < 0.03:
        services.append(
            ServiceSpec(
                "escort", "monthly", 4, "visit", "social_worker", 120, provider_code="P-HOMECARE"
            )
        )
    return services


def _client(
    rng: random.Random,
    number: int,
    staff_by_town: dict[str, list[StaffSpec]],
    device_counter: Counter[str],
) -> ClientSpec:
    town = rng.choices(TOWNS, weights=[t.share for t in TOWNS])[0]
    sex = "female" if rng.random() < 0.62 else "male"
    older = rng.random() < 0.88
    age = rng.randint(65, 96) if older else rng.randint(40, 64)
    birth = dt.date(2026 - age, rng.randint(1, 12), rng.randint(1, 28))
    name = _weighted(rng, SURNAMES) + rng.choice(FEMALE_NAMES if sex == "female" else MALE_NAMES)
    spread = 0.012 if town.kind == "eup" else 0.025  # rural homes lie further from the office
    latitude = round(town.latitude + rng.gauss(0, spread), 6)
    longitude = round(town.longitude + rng.gauss(0, spread * 1.2), 6)
    address = f"{PROVINCE} {COUNTY} {town.name} {rng.choice(town.villages)} {rng.randint(1, 999)}"
    if rng.random() < 0.3:
        address += f"-{rng.randint(1, 20)}"
    tier = _weighted(rng, TIER_WEIGHTS)
    ltc = _weighted(rng, LTC_WEIGHTS) if older else "none"
    locals_ = staff_by_town.get(town.code) or [s for group in staff_by_town.values() for s in group]
    carers = [s for s in locals_ if s.role in ("nurse", "social_worker")] or locals_
    client = ClientSpec(
        code=f"C{number:07d}",
        person=PersonalFields(
            name=name,
            birth_date=birth,
            address=address,
            phone=_phone(rng),
            rrn=_rrn(rng, birth, sex),
        ),
        sex=sex,
        town_code=town.code,
        latitude=latitude,
        longitude=longitude,
        household_type=_weighted(rng, HOUSEHOLD_WEIGHTS),
        risk_tier=tier,
        ltc_grade=ltc,
        basic_livelihood=rng.random() < 0.22,
        medical_aid=rng.random() < 0.12,
        consent_given=rng.random() < 0.96,
        window=rng.choice(WINDOWS) if rng.random() < 0.2 else None,
        usual_staff_code=rng.choice(carers).code,
    )
    if tier in ("at_risk", "caution") or rng.random() < 0.2:
        client.case_opened_on = CASES_OPENED_FROM + dt.timedelta(days=rng.randrange(650))
        categories = {_weighted(rng, NEED_WEIGHTS) for _ in range(rng.randint(1, 4))}
        client.needs = [(c, rng.choice(NEED_CODES[c])) for c in sorted(categories)]
        client.services = _services(rng, tier, ltc)
    if client.household_type == "living_alone" and tier == "at_risk" and rng.random() < 0.6:
        for vendor_code, _name, _device in rng.sample(CLIENT_DEVICE_VENDORS, k=rng.randint(1, 2)):
            device_counter[vendor_code] += 1
            client.devices.append((vendor_code, f"{vendor_code}-{device_counter[vendor_code]:06d}"))
    return client


def _unique_rrns(people: list[ClientSpec], seed: int) -> None:
    """Redraw a resident number already given (five random digits per birth date and
    sex repeat in a county of 100,000), with its own random stream: a county without a
    repeat, like the default one, stays as it was."""
    rng = random.Random(seed ^ 0x5EC)
    seen: set[str] = set()
    for client in people:
        rrn = client.person.rrn
        while rrn is not None and rrn in seen:
            rrn = _rrn(rng, client.person.birth_date, client.sex)
        if rrn != client.person.rrn:
            client.person = dataclasses.replace(client.person, rrn=rrn)
        if rrn is not None:
            seen.add(rrn)


def _fit_fleet(people: list[ClientSpec], seed: int, counter: Counter[str]) -> None:
    """Add the programmes' devices (:data:`FLEET_PROGRAMMES`), one per vendor a client."""
    rng = random.Random(seed ^ FLEET_SEED)
    for vendor, households, tiers, share in FLEET_PROGRAMMES:
        for client in people:
            if client.household_type not in households or client.risk_tier not in tiers:
                continue
            if rng.random() >= share or any(v == vendor for v, _ in client.devices):
                continue
            counter[vendor] += 1
            client.devices.append((vendor, f"{vendor}-{counter[vendor]:06d}"))


def build_county(clients: int = 450, seed: int = 20260301) -> County:
    """The whole county as plain data; the same arguments always give the same county."""
    if clients < 1:
        raise ValueError("clients must be at least 1")
    rng = random.Random(seed)
    staff = _staff(rng, clients)
    staff_by_town: dict[str, list[StaffSpec]] = {}
    for member in staff:
        staff_by_town.setdefault(member.town_code, []).append(member)
    counter: Counter[str] = Counter()
    people = [_client(rng, n, staff_by_town, counter) for n in range(1, clients + 1)]
    _unique_rrns(people, seed)
    _fit_fleet(people, seed, counter)
    return County(seed=seed, towns=TOWNS, staff=staff, clients=people)
