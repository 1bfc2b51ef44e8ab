"""Routing: the VRPTW core on a Solomon instance, travel models and the home-visit planner.

A small hand-made county (two towns, a week without holidays) keeps every plan to a
fraction of a second: PyVRP runs a fixed number of iterations per problem.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections import Counter
from pathlib import Path

import pytest

from care_models.config import PROJECT_ROOT
from care_models.visits.checks import check_plan
from care_models.visits.model import Coordinator, DueContact, Place, Plan, PlannedStop
from care_models.visits.routing import (
    nearest_neighbour_plan,
    nearest_neighbour_vrptw,
    plan_days,
    plan_km,
    read_solomon,
    replan,
    solve_vrptw,
)
from care_models.visits.travel import HaversineTravel, MatrixTravel, travel_matrices

# The shared benchmark instances sit next to the project (../shared/data/benchmarks).
SOLOMON = (
    Path(os.environ.get("BENCHMARK_DATA", PROJECT_ROOT.parent / "shared/data/benchmarks"))
    / "solomon"
)
MONDAY = dt.date(2026, 11, 2)  # no Korean public holiday that week
WEEK = [MONDAY + dt.timedelta(days=i) for i in range(5)]
TOWN_A = Place(36.8553, 127.4356)  # an eup office
TOWN_B = Place(36.8237, 127.4942)  # a myeon office, about 6 km away
TRAVEL = HaversineTravel(urban_places=[TOWN_A])
FAST = 0.05  # seconds_per_problem: the minimum iteration budget


def coordinator(
    code: str,
    skills: set[str],
    town: str = "A",
    *,
    days_off: set[dt.date] | None = None,
    max_visits: int = 8,
) -> Coordinator:
    return Coordinator(
        staff_id=int(code[1:]),
        code=code,
        role=sorted(skills)[0],
        skills=frozenset(skills),
        town_code=town,
        office=TOWN_A if town == "A" else TOWN_B,
        work_start=dt.time(9),
        work_end=dt.time(18),
        lunch_start=dt.time(12),
        lunch_end=dt.time(13),
        max_visits_per_day=max_visits,
        days_off=frozenset(days_off or ()),
    )


def contact(
    n: int,
    skill: str = "nurse",
    *,
    town: str = "A",
    mode: str = "visit",
    usual: str | None = None,
    earliest: dt.date = WEEK[0],
    latest: dt.date = WEEK[-1],
    window: tuple[dt.time, dt.time] | None = None,
    duration: int = 40,
    priority: int = 3,
    fixed: int | None = None,
) -> DueContact:
    office = TOWN_A if town == "A" else TOWN_B
    # homes on a small spiral around the town office, 0.5-3 km out
    angle, radius = n * 2.4, 0.005 + 0.0025 * (n % 10)
    place = Place(
        round(office.latitude + radius * math.sin(angle), 6),
        round(office.longitude + radius * 1.2 * math.cos(angle), 6),
    )
    service = {"nurse": "home_nursing", "doctor": "home_doctor"}.get(skill, "monitoring")
    return DueContact(
        key=f"C{n:04d}:{service}:{mode}:{earliest}:{n}",
        client_id=n,
        client_code=f"C{n:04d}",
        town_code=town,
        place=place,
        service_type=service,
        mode=mode,
        skill=skill,
        duration_min=duration if mode == "visit" else 15,
        earliest=earliest,
        latest=latest,
        purpose="test",
        window_start=window[0] if window else None,
        window_end=window[1] if window else None,
        usual_staff_code=usual,
        priority=priority,
        fixed_visit_id=fixed,
    )


def minute(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def assert_valid(plan: Plan, contacts: list[DueContact], staff: list[Coordinator]) -> None:
    """Coverage, skills, days, hours, lunch (travel included), windows, no overlaps."""
    by_key = {c.key: c for c in contacts}
    coords = {c.code: c for c in staff}
    planned = Counter(s.contact_key for s in plan.stops)
    unplanned = {u.contact_key for u in plan.unplanned}
    assert all(n == 1 for n in planned.values())
    assert not planned.keys() & unplanned
    assert planned.keys() | unplanned == by_key.keys()
    assert all(u.reason for u in plan.unplanned)
    for (code, day), stops in plan.routes().items():
        coord = coords[code]
        assert coord.works_on(day)
        assert [s.sequence for s in stops] == list(range(1, len(stops) + 1))
        assert sum(s.mode == "visit" for s in stops) <= coord.max_visits_per_day
        previous_end = minute(coord.work_start)
        for stop in stops:
            c = by_key[stop.contact_key]
            start, end = minute(stop.start), minute(stop.start) + stop.duration_min
            assert c.skill in coord.skills
            assert c.earliest <= day <= c.latest
            assert minute(coord.work_start) <= start and end <= minute(coord.work_end)
            assert end <= 12 * 60 or start >= 13 * 60, f"{stop} overlaps lunch"
            # the drive to the stop fits between the previous end and the start, outside lunch
            depart = previous_end
            if depart < 13 * 60 and depart + stop.travel_min > 12 * 60:
                depart = 13 * 60
            assert depart + stop.travel_min <= start, f"{stop} overlaps the previous stop"
            if c.window_start and c.window_end:
                assert minute(c.window_start) <= start and end <= minute(c.window_end)
            previous_end = end
        assert (code, day) in plan.return_km


def plan_week(
    contacts: list[DueContact], staff: list[Coordinator], days: list[dt.date] = WEEK
) -> Plan:
    return plan_days(contacts, staff, days, travel=TRAVEL, seconds_per_problem=FAST)


@pytest.fixture(scope="module")
def county() -> tuple[list[DueContact], list[Coordinator]]:
    staff = [
        coordinator("S0001", {"nurse"}),
        coordinator("S0002", {"nurse"}, days_off={WEEK[2]}),
        coordinator("S0003", {"social_worker"}),
        coordinator("S0004", {"social_worker", "nurse"}, town="B"),
        coordinator("S0005", {"doctor"}, max_visits=6),
    ]
    contacts = [contact(n, usual="S0001" if n % 3 else "S0002") for n in range(1, 25)]
    contacts += [contact(n, "social_worker", usual="S0003") for n in range(25, 40)]
    contacts += [contact(n, "social_worker", mode="phone", usual="S0003") for n in range(40, 52)]
    contacts += [contact(n, "nurse", town="B", usual="S0004") for n in range(52, 60)]
    contacts += [contact(n, "doctor", town="B") for n in range(60, 66)]
    contacts += [
        contact(66, window=(dt.time(10), dt.time(12))),
        contact(67, window=(dt.time(14), dt.time(17)), usual="S0001"),
        contact(68, earliest=WEEK[1], latest=WEEK[1], usual="S0001"),
    ]
    return contacts, staff


@pytest.fixture(scope="module")
def week_plan(county: tuple[list[DueContact], list[Coordinator]]) -> Plan:
    return plan_week(*county)


# -- VRPTW core -----------------------------------------------------------------------


def test_a_solomon_file_is_read_and_solved(tmp_path: Path) -> None:
    """The Solomon text format, written here: 12 customers on a ring around the depot."""
    rows = ["    0      50         50          0          0       1000          0"]
    for n in range(1, 13):
        x = 50 + round(20 * math.cos(n * math.pi / 6))
        y = 50 + round(20 * math.sin(n * math.pi / 6))
        rows.append(f"   {n:2d}      {x}         {y}         10          0        800         10")
    text = "RING12\n\nVEHICLE\nNUMBER     CAPACITY\n  4         60\n\nCUSTOMER\n"
    text += "CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME\n \n"
    path = tmp_path / "RING12.txt"
    path.write_text(text + "\n".join(rows) + "\n")
    instance = read_solomon(path)
    assert (instance.name, len(instance.clients), instance.depot) == ("RING12", 12, (50.0, 50.0))
    assert instance.vehicle_types[0].capacity == 60 and instance.depot_due == 1000
    solution = solve_vrptw(instance, seconds=1.0, seed=1)
    assert solution.feasible and solution.vehicles == 2  # 12 x 10 demand, 60 a vehicle
    assert sorted(c for r in solution.routes for c in r.clients) == list(range(12))
    assert solution.distance <= nearest_neighbour_vrptw(instance).distance + 1e-9


@pytest.mark.skipif(not (SOLOMON / "C101.txt").exists(), reason="benchmark data not present")
def test_solomon_c101_first_25_customers_within_one_percent() -> None:
    instance = read_solomon(SOLOMON / "C101.txt", customers=25)
    solution = solve_vrptw(instance, seconds=2.0, seed=1)
    assert solution.feasible
    assert solution.vehicles == 3
    assert solution.distance <= 191.3 * 1.01  # the known optimum: 3 vehicles, 191.3
    served = sorted(c for r in solution.routes for c in r.clients)
    assert served == list(range(25))
    for route in solution.routes:  # time windows and capacity hold
        assert sum(instance.clients[c].demand for c in route.clients) <= 200
        for c, start in zip(route.clients, route.starts, strict=True):
            assert instance.clients[c].ready <= start <= instance.clients[c].due + 1e-9
    greedy = nearest_neighbour_vrptw(instance)
    assert greedy.feasible and greedy.distance > solution.distance


# -- travel -----------------------------------------------------------------------------


def test_haversine_travel_urban_and_rural() -> None:
    near_a = Place(TOWN_A.latitude + 0.009, TOWN_A.longitude)  # 1 km north of the office
    assert TRAVEL.km(TOWN_A, TOWN_B) == pytest.approx(6.2 * 1.3, rel=0.05)
    assert TRAVEL.minutes(TOWN_A, near_a) == round(TRAVEL.km(TOWN_A, near_a) / 25 * 60)
    assert TRAVEL.minutes(TOWN_A, TOWN_B) == round(TRAVEL.km(TOWN_A, TOWN_B) / 40 * 60)
    assert TRAVEL.minutes(TOWN_A, TOWN_A) == 0
    km, minutes = travel_matrices(TRAVEL, [TOWN_A, near_a, TOWN_B])
    assert km[0, 2] == pytest.approx(TRAVEL.km(TOWN_A, TOWN_B))
    assert minutes[0, 1] == TRAVEL.minutes(TOWN_A, near_a)


def test_matrix_travel_answers_from_the_matrix_and_falls_back() -> None:
    matrix = MatrixTravel([TOWN_A, TOWN_B], [[0, 9.5], [9.7, 0]], [[0, 17], [18, 0]])
    assert matrix.km(TOWN_A, TOWN_B) == 9.5 and matrix.minutes(TOWN_B, TOWN_A) == 18
    with pytest.raises(KeyError):
        matrix.km(TOWN_A, Place(0, 0))
    fallback = MatrixTravel([TOWN_A], [[0]], [[0]], fallback=TRAVEL)
    assert fallback.km(TOWN_A, TOWN_B) == TRAVEL.km(TOWN_A, TOWN_B)
    with pytest.raises(ValueError):
        MatrixTravel([TOWN_A], [[0, 1]], [[0]])


# -- the planner -------------------------------------------------------------------------


def test_plan_is_valid_and_accounts_for_every_contact(
    county: tuple[list[DueContact], list[Coordinator]], week_plan: Plan
) -> None:
    contacts, staff = county
    assert_valid(week_plan, contacts, staff)
    assert len(week_plan.stops) == len(contacts)  # everything fits this week
    assert week_plan.horizon_start == WEEK[0] and week_plan.horizon_end == WEEK[-1]


def test_skills_respected(
    county: tuple[list[DueContact], list[Coordinator]], week_plan: Plan
) -> None:
    contacts, staff = county
    skills = {c.code: c.skills for c in staff}
    by_key = {c.key: c for c in contacts}
    assert all(by_key[s.contact_key].skill in skills[s.staff_code] for s in week_plan.stops)
    assert {s.staff_code for s in week_plan.stops if "home_doctor" in s.contact_key} == {"S0005"}


def test_continuity_usual_coordinator_gets_the_client(
    county: tuple[list[DueContact], list[Coordinator]], week_plan: Plan
) -> None:
    contacts, _ = county
    usual = {c.key: c.usual_staff_code for c in contacts if c.usual_staff_code}
    assert all(
        s.staff_code == usual[s.contact_key] for s in week_plan.stops if s.contact_key in usual
    )
    # S0004 (town B) also nurses, but town A's clients stay with their usual town-A nurse
    assert not [
        s for s in week_plan.stops if s.staff_code == "S0004" and int(s.client_code[1:]) < 52
    ]


def test_continuity_gives_way_when_the_usual_coordinator_is_away() -> None:
    staff = [
        coordinator("S0001", {"nurse"}, days_off=set(WEEK)),
        coordinator("S0002", {"nurse"}),
    ]
    plan = plan_week([contact(1, usual="S0001"), contact(2, usual="S0001")], staff)
    assert {s.staff_code for s in plan.stops} == {"S0002"} and not plan.unplanned


def test_leave_respected(
    county: tuple[list[DueContact], list[Coordinator]], week_plan: Plan
) -> None:
    assert not [s for s in week_plan.stops if s.staff_code == "S0002" and s.day == WEEK[2]]
    assert [s for s in week_plan.stops if s.staff_code == "S0002"]  # other days are fine


def test_windows_and_lunch(
    county: tuple[list[DueContact], list[Coordinator]], week_plan: Plan
) -> None:
    by_key = {s.contact_key: s for s in week_plan.stops}
    morning = next(s for k, s in by_key.items() if k.startswith("C0066:"))
    afternoon = next(s for k, s in by_key.items() if k.startswith("C0067:"))
    assert dt.time(10) <= morning.start and minute(morning.start) + 40 <= 12 * 60
    assert dt.time(14) <= afternoon.start and minute(afternoon.start) + 40 <= 17 * 60
    one_day = next(s for k, s in by_key.items() if k.startswith("C0068:"))
    assert one_day.day == WEEK[1]
    lunch = [s for s in week_plan.stops if minute(s.start) < 13 * 60 < minute(s.start) + 60]
    assert all(minute(s.start) + s.duration_min <= 12 * 60 for s in lunch)


def test_phone_calls_need_no_travel(
    county: tuple[list[DueContact], list[Coordinator]], week_plan: Plan
) -> None:
    calls = [s for s in week_plan.stops if s.mode == "phone"]
    assert len(calls) == 12
    assert all(s.travel_km == 0 and s.travel_min == 0 for s in calls)
    only_calls = plan_week(
        [contact(n, "social_worker", mode="phone") for n in range(1, 4)],
        [coordinator("S0003", {"social_worker"})],
    )
    assert len(only_calls.stops) == 3 and plan_km(only_calls) == 0


def test_infeasible_demand_is_reported_not_dropped() -> None:
    staff = [
        coordinator("S0001", {"nurse"}, max_visits=2),
        coordinator("S0005", {"doctor"}, days_off=set(WEEK)),  # the only doctor is away
    ]
    contacts = [
        contact(1, "doctor"),
        contact(2, "rehabilitation"),  # nobody has the skill
        contact(
            3, earliest=WEEK[-1] + dt.timedelta(days=7), latest=WEEK[-1] + dt.timedelta(days=9)
        ),
        contact(4, window=(dt.time(9), dt.time(9, 30)), duration=45),  # window too short
        *[contact(n, earliest=WEEK[0], latest=WEEK[0]) for n in range(10, 14)],  # 2 fit Monday
    ]
    plan = plan_week(contacts, staff)
    assert_valid(plan, contacts, staff)
    reasons = {u.contact_key.split(":")[0]: u.reason for u in plan.unplanned}
    assert "doctor" in reasons["C0001"] and "works" in reasons["C0001"]
    assert reasons["C0002"] == "no coordinator has the skill 'rehabilitation'"
    assert "outside the planning days" in reasons["C0003"]
    assert "working hours" in reasons["C0004"]
    assert sum("full" in reasons.get(f"C{n:04d}", "") for n in range(10, 14)) == 2
    assert len(plan.stops) == 2


def test_no_coordinators_or_days_does_not_crash() -> None:
    plan = plan_days([contact(1)], [], WEEK, travel=TRAVEL, seconds_per_problem=FAST)
    assert [u.reason for u in plan.unplanned] == ["no coordinator has the skill 'nurse'"]
    plan = plan_days(
        [contact(1)], [coordinator("S0001", {"nurse"})], [], travel=TRAVEL, seconds_per_problem=FAST
    )
    assert plan.unplanned[0].reason == "no planning days"


def test_plans_with_a_precomputed_distance_matrix(
    county: tuple[list[DueContact], list[Coordinator]], week_plan: Plan
) -> None:
    contacts, staff = county
    places = sorted({c.place for c in contacts} | {c.office for c in staff}, key=str)
    km, minutes = TRAVEL.matrix(places)
    matrix = MatrixTravel(places, km * 1.1, minutes)  # e.g. a road router's figures
    plan = plan_days(contacts, staff, WEEK, travel=matrix, seconds_per_problem=FAST)
    assert_valid(plan, contacts, staff)
    assert len(plan.stops) == len(week_plan.stops)
    assert plan_km(plan) > plan_km(week_plan)


def test_booked_visit_stays_on_its_day_with_its_coordinator() -> None:
    staff = [coordinator("S0001", {"nurse"}), coordinator("S0002", {"nurse"})]
    booked = contact(1, earliest=WEEK[3], latest=WEEK[3], usual="S0002", priority=1, fixed=77)
    others = [contact(n, usual="S0001") for n in range(2, 12)]
    plan = plan_week([booked, *others], staff)
    stop = next(s for s in plan.stops if s.contact_key == booked.key)
    assert (stop.staff_code, stop.day) == ("S0002", WEEK[3])


def test_deterministic(county: tuple[list[DueContact], list[Coordinator]], week_plan: Plan) -> None:
    again = plan_week(*county)
    assert again == week_plan


def test_spread_over_the_window_by_load() -> None:
    staff = [coordinator("S0001", {"nurse"})]
    plan = plan_week([contact(n, usual="S0001") for n in range(1, 21)], staff)
    per_day = Counter(s.day for s in plan.stops)
    assert len(per_day) == 5 and max(per_day.values()) <= 5  # 20 visits: 4 a day, +25 %


def test_better_than_nearest_neighbour(
    county: tuple[list[DueContact], list[Coordinator]], week_plan: Plan
) -> None:
    contacts, staff = county
    greedy = nearest_neighbour_plan(contacts, staff, WEEK, travel=TRAVEL)
    assert_valid(greedy, contacts, staff)
    assert plan_km(week_plan) < plan_km(greedy)


# -- replanning ----------------------------------------------------------------------------


def test_replan_with_an_urgent_contact_leaves_other_days_identical(
    county: tuple[list[DueContact], list[Coordinator]], week_plan: Plan
) -> None:
    contacts, staff = county
    urgent = contact(90, earliest=WEEK[2], latest=WEEK[2], usual="S0001", priority=1)
    after = replan(
        week_plan,
        [*contacts, urgent],
        staff,
        WEEK,
        changed_days={WEEK[2]},
        travel=TRAVEL,
        seconds_per_problem=FAST,
    )
    assert_valid(after, [*contacts, urgent], staff)
    assert next(s for s in after.stops if s.contact_key == urgent.key).day == WEEK[2]
    assert [s for s in after.stops if s.day != WEEK[2]] == [
        s for s in week_plan.stops if s.day != WEEK[2]
    ]
    # no day marked as changed: only the one route that takes the urgent visit changes
    quiet = replan(
        week_plan,
        [*contacts, urgent],
        staff,
        WEEK,
        changed_days=set(),
        travel=TRAVEL,
        seconds_per_problem=FAST,
    )
    assert_valid(quiet, [*contacts, urgent], staff)
    before, now = week_plan.routes(), quiet.routes()
    changed = {k for k in before.keys() | now.keys() if before.get(k) != now.get(k)}
    assert changed == {("S0001", WEEK[2])}


def test_replan_with_a_sick_coordinator_moves_only_that_days_stops(
    county: tuple[list[DueContact], list[Coordinator]], week_plan: Plan
) -> None:
    contacts, staff = county
    sick = ("S0001", WEEK[1])
    moved = {s.contact_key for s in week_plan.stops if (s.staff_code, s.day) == sick}
    assert moved
    after = replan(
        week_plan,
        contacts,
        staff,
        WEEK,
        changed_days=set(),
        unavailable={sick},
        travel=TRAVEL,
        seconds_per_problem=FAST,
    )
    assert_valid(after, contacts, staff)
    assert not [s for s in after.stops if (s.staff_code, s.day) == sick]
    before = {s.contact_key: (s.staff_code, s.day) for s in week_plan.stops}
    now = {s.contact_key: (s.staff_code, s.day) for s in after.stops}
    assert {k for k in now if now[k] != before.get(k)} <= moved  # nobody else moves
    assert moved <= now.keys() | {u.contact_key for u in after.unplanned}
    touched = {now[k] for k in moved if k in now}
    for key, stops in week_plan.routes().items():
        if key != sick and key not in touched:
            assert after.routes()[key] == stops  # untouched routes are kept exactly
    # the same replan again gives the same plan
    assert after == replan(
        week_plan,
        contacts,
        staff,
        WEEK,
        changed_days=set(),
        unavailable={sick},
        travel=TRAVEL,
        seconds_per_problem=FAST,
    )


# -- the plan's input fingerprint ------------------------------------------------------------

HASH_SCRIPT = """
import sys
sys.path[:0] = ["."]
from tests.unit.visits.test_routing import coordinator, contact
from care_models.visits.record import input_hash
staff = [coordinator("S0001", {"nurse", "social_worker", "rehabilitation", "nutrition"})]
print(input_hash([contact(n, usual="S0001") for n in range(1, 4)], staff))
"""


def test_input_hash_is_the_same_in_every_process() -> None:
    """A re-run in another process (every Airflow task is one) must find the same plan."""
    import subprocess
    import sys

    from care_models.config import PROJECT_ROOT

    digests = {
        subprocess.run(
            [sys.executable, "-c", HASH_SCRIPT],
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2", "3", "4")
    }
    assert len(digests) == 1 and len(next(iter(digests))) == 64


def test_input_hash_ignores_who_the_last_plan_gave_a_booked_visit() -> None:
    """The plan writes a booked visit's coordinator back; that must not count as new input."""
    from care_models.visits.record import input_hash

    staff = [coordinator("S0001", {"nurse"}), coordinator("S0002", {"nurse"})]
    booked = [contact(1, usual="S0001", fixed=91), contact(2, usual="S0001")]
    moved = [contact(1, usual="S0002", fixed=91), contact(2, usual="S0001")]
    routine_moved = [contact(1, usual="S0001", fixed=91), contact(2, usual="S0002")]
    assert input_hash(booked, staff) == input_hash(moved, staff)
    assert input_hash(booked, staff) != input_hash(routine_moved, staff)


def test_an_asset_triggered_run_replans_the_plans_in_force() -> None:
    from airflow.sdk.api.datamodels._generated import DagRunType as SdkRunType
    from airflow.utils.types import DagRunType

    from care_tasks.visits import plan_choice

    for kind in (DagRunType.ASSET_TRIGGERED, SdkRunType.ASSET_TRIGGERED, "asset_triggered"):
        assert plan_choice("auto", kind) == "current"
        assert plan_choice(None, kind) == "current"
    for kind in (DagRunType.SCHEDULED, SdkRunType.MANUAL, None):
        assert plan_choice("auto", kind) == "next"
    assert plan_choice("current", DagRunType.SCHEDULED) == "current"
    assert plan_choice("next", SdkRunType.ASSET_TRIGGERED) == "next"


# -- calls inside the client's time window -------------------------------------------------------


def test_calls_start_inside_the_clients_window() -> None:
    staff = [coordinator("S0003", {"social_worker"})]
    windows = [(dt.time(10), dt.time(12)), (dt.time(14), dt.time(17)), (dt.time(9), dt.time(10))]
    calls = [
        contact(n, "social_worker", mode="phone", usual="S0003", window=windows[n % 3])
        for n in range(1, 13)
    ]
    visits = [contact(n, "social_worker", usual="S0003") for n in range(13, 25)]
    # a window that ends before the working day begins cannot be met: unplanned, not misplaced
    early = contact(25, "social_worker", mode="phone", window=(dt.time(7), dt.time(8)))
    contacts = [*calls, *visits, early]
    for plan in (
        plan_week(contacts, staff),
        nearest_neighbour_plan(contacts, staff, WEEK, travel=TRAVEL),
    ):
        by_key = {c.key: c for c in contacts}
        planned_calls = [s for s in plan.stops if s.mode == "phone"]
        assert planned_calls
        for stop in planned_calls:
            c = by_key[stop.contact_key]
            assert c.window_start and c.window_end
            start = minute(stop.start)
            assert minute(c.window_start) <= start, stop
            assert start + stop.duration_min <= minute(c.window_end), stop
        reasons = {u.contact_key: u.reason for u in plan.unplanned}
        assert "time window 07:00-08:00" in reasons[early.key]
        assert check_plan(plan, contacts, staff) == []


def test_the_plan_check_reports_a_call_outside_the_clients_window() -> None:
    staff = [coordinator("S0003", {"social_worker"})]
    call = contact(1, "social_worker", mode="phone", window=(dt.time(10), dt.time(12)))
    stop = PlannedStop(
        contact_key=call.key,
        client_id=call.client_id,
        client_code=call.client_code,
        staff_code="S0003",
        day=WEEK[0],
        start=dt.time(17, 29),
        duration_min=call.duration_min,
        sequence=1,
        travel_min=0,
        travel_km=0.0,
        service_type=call.service_type,
        mode="phone",
        purpose=call.purpose,
    )
    plan = Plan(horizon_start=WEEK[0], horizon_end=WEEK[-1], stops=[stop])
    assert check_plan(plan, [call], staff) == [
        f"S0003 {WEEK[0]} {call.key}: outside the client's time window"
    ]
