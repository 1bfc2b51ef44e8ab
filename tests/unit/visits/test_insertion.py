"""Insertion trials from a route's profile give exactly the schedule of the whole trial.

Repair's speed rests on :class:`_Profile` (states before each stop, latest-start
bounds, walking forward only until the trial fails or rejoins the route). These
tests schedule random routes (visits and calls, client time windows, lunch, a full
day) and compare every trial at every position with :func:`_schedule` of the same
trial from scratch: the same schedule, or both infeasible.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from care_models.visits.model import Coordinator, DueContact, Place
from care_models.visits.routing.insertion import _Profile
from care_models.visits.routing.timelines import _schedule, _Task, _Trips
from care_models.visits.travel import HaversineTravel

OFFICE = Place(36.8553, 127.4356)
DAY = dt.date(2026, 11, 2)
TRIPS = _Trips(HaversineTravel(urban_places=[OFFICE]))


def coordinator(lunch: bool) -> Coordinator:
    return Coordinator(
        staff_id=1,
        code="S0001",
        role="nurse",
        skills=frozenset({"nurse"}),
        town_code="A",
        office=OFFICE,
        work_start=dt.time(9),
        work_end=dt.time(18),
        lunch_start=dt.time(12) if lunch else None,
        lunch_end=dt.time(13) if lunch else None,
        max_visits_per_day=12,
        days_off=frozenset(),
    )


def random_task(rng: random.Random, n: int) -> _Task:
    phone = rng.random() < 0.3
    window = None
    if rng.random() < 0.4:
        start = rng.randint(9, 16)
        window = (dt.time(start), dt.time(min(18, start + rng.randint(1, 4))))
    place = Place(
        round(OFFICE.latitude + rng.uniform(-0.04, 0.04), 6),
        round(OFFICE.longitude + rng.uniform(-0.05, 0.05), 6),
    )
    contact = DueContact(
        key=f"C{n:04d}:test",
        client_id=n,
        client_code=f"C{n:04d}",
        town_code="A",
        place=place,
        service_type="home_nursing",
        mode="phone" if phone else "visit",
        skill="nurse",
        duration_min=rng.choice([10, 15]) if phone else rng.choice([20, 30, 40, 60, 90]),
        earliest=DAY,
        latest=DAY,
        purpose="test",
        window_start=window[0] if window else None,
        window_end=window[1] if window else None,
    )
    return _Task(contact, n)


def feasible_route(rng: random.Random, coord: Coordinator, size: int) -> list[_Task]:
    """Random tasks appended while the day still fits."""
    tasks: list[_Task] = []
    for n in range(size * 3):
        candidate = [*tasks, random_task(rng, n)]
        if _schedule(coord, candidate, TRIPS)[0] is not None:
            tasks = candidate
        if len(tasks) == size:
            break
    return tasks


@pytest.mark.parametrize("seed", range(40))
def test_every_trial_is_the_schedule_of_the_whole_trial(seed: int) -> None:
    rng = random.Random(seed)
    coord = coordinator(lunch=seed % 4 != 0)
    tasks = feasible_route(rng, coord, rng.randint(0, 10))
    timed, _ = _schedule(coord, tasks, TRIPS)
    assert timed is not None
    profile = _Profile(coord, tasks, timed, TRIPS)
    fits = 0
    for n in range(12):
        task = random_task(rng, 100 + n)
        for pos in range(len(tasks) + 1):
            expected, _ = _schedule(coord, [*tasks[:pos], task, *tasks[pos:]], TRIPS)
            assert profile.trial(task, pos) == expected, (seed, n, pos)
            fits += expected is not None
    # the comparison covers both outcomes, not only failures
    assert fits > 0 or len(tasks) >= 6


def test_no_gap_means_no_trial_fits() -> None:
    """The route-wide room is a true bound: a contact longer than every gap fits nowhere."""
    checked = 0
    for seed in range(60):
        rng = random.Random(1000 + seed)
        coord = coordinator(lunch=True)
        tasks = feasible_route(rng, coord, rng.randint(4, 10))
        timed, _ = _schedule(coord, tasks, TRIPS)
        assert timed is not None
        profile = _Profile(coord, tasks, timed, TRIPS)
        for n in range(30):
            task = random_task(rng, 200 + n)
            if task.duration > profile.room:
                checked += 1
                assert all(
                    _schedule(coord, [*tasks[:pos], task, *tasks[pos:]], TRIPS)[0] is None
                    for pos in range(len(tasks) + 1)
                )
    assert checked > 0, "no contact was longer than a route's room: the bound went untested"
