"""The synthetic county: deterministic, realistic, scalable."""

from __future__ import annotations

import re
from collections import Counter

from care_models import vocab
from care_models.synthetic.county import HOSPITALS, VENDORS, County, build_county

HANGUL_NAME = re.compile(r"^[가-힣]{2,4}$")


def _fingerprint(county: County) -> list[tuple[object, ...]]:
    return [
        (c.code, c.person.name, c.person.rrn, c.latitude, c.risk_tier, len(c.services))
        for c in county.clients
    ]


def test_same_seed_gives_the_same_county_and_another_seed_does_not() -> None:
    assert _fingerprint(build_county(seed=7)) == _fingerprint(build_county(seed=7))
    assert _fingerprint(build_county(seed=7)) != _fingerprint(build_county(seed=8))


def test_default_county_has_the_shape_of_a_rural_county() -> None:
    county = build_county()
    assert len(county.towns) == 7
    assert len(county.clients) == 450
    assert len(county.staff) == 12
    roles = Counter(s.role for s in county.staff)
    assert roles["doctor"] == 1 and roles["nurse"] >= 4 and roles["social_worker"] >= 4
    assert len(HOSPITALS) == 8
    assert sum(1 for h in HOSPITALS if not h[2]) == 3
    assert {v[2] for v in VENDORS} == set(vocab.DEVICE_TYPES)


def test_clients_look_real_and_use_only_known_codes() -> None:
    county = build_county()
    for client in county.clients:
        assert HANGUL_NAME.match(client.person.name), client.code
        assert client.person.address.startswith("충청북도 진천군 ")
        assert 33 < client.latitude < 39 and 124 < client.longitude < 132
        assert client.risk_tier in vocab.RISK_TIERS
        assert client.household_type in vocab.HOUSEHOLD_TYPES
        assert client.ltc_grade in vocab.LTC_GRADES
    tiers = Counter(c.risk_tier for c in county.clients)
    assert all(tiers[t] > 20 for t in vocab.RISK_TIERS)


def test_resident_registration_numbers_have_a_valid_check_digit() -> None:
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    for client in build_county(clients=200).clients:
        digits = (client.person.rrn or "").replace("-", "")
        total = sum(int(d) * w for d, w in zip(digits[:12], weights, strict=True))
        assert (11 - total % 11) % 10 == int(digits[12])
        assert digits[:6] == client.person.birth_date.strftime("%y%m%d")


def test_care_plans_follow_the_domain_cadences() -> None:
    services = [s for c in build_county().clients for s in c.services]
    by_type = {s.service_type: s for s in services}
    assert by_type["home_nursing"].cadence == "twice_monthly"
    assert by_type["home_doctor"].required_skill == "doctor"
    package = [s for s in services if s.service_type == "discharge_nursing"]
    assert {(s.mode, s.contacts_per_period) for s in package} == {("visit", 5), ("phone", 4)}


def test_scale_parameter_grows_clients_and_staff_together() -> None:
    county = build_county(clients=2000)
    assert len(county.clients) == 2000
    assert len(county.staff) == 12 * 5
    assert len({s.code for s in county.staff}) == len(county.staff)
    assert len({c.code for c in county.clients}) == 2000


def test_a_large_county_gives_each_person_their_own_resident_number() -> None:
    from care_models.synthetic.county import build_county as build

    numbers = [c.person.rrn for c in build(100_000).clients if c.person.rrn]
    assert len(numbers) == len(set(numbers)) == 100_000
