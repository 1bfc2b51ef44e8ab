"""Repair and replanning inserts: cheapest feasible insertion, kept routes, urgent contacts.

Steps 6 (repair) and the minimal-disturbance inserts of :func:`replan`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from care_models.visits.model import Coordinator
from care_models.visits.routing.eligibility import _State
from care_models.visits.routing.insertion import _Profile
from care_models.visits.routing.timelines import (
    URGENT_PRIORITY,
    _deferral,
    _minute,
    _Route,
    _schedule,
    _Task,
    _Timed,
)


class _Repairs(_State):
    """Insertion into open and kept routes."""

    def give_up(self, task: _Task) -> None:
        """Unplanned, unless a replan may still insert it into an unaffected route."""
        if task.key in self.may_disturb:
            self.overflow.append(task)
        else:
            self.drop(task)

    def insertion(self, task: _Task, route: _Route) -> tuple[tuple[float, ...], int, _Timed] | None:
        """The best feasible position of ``task`` in ``route`` (lower score is better).

        First the fewest stops of an unaffected route (replan) that move, then for a
        visit: least extra km, then least extra time; for a call: least extra time,
        then at the office (before the first or after the last visit).
        """
        coord = route.coord
        if not task.phone and route.visits >= coord.max_visits_per_day:
            return None
        base = route.timed or _Timed((), (), (0, 0.0), _minute(coord.work_start))
        positions: Iterable[int] = range(len(route.tasks) + 1)
        if task.phone and len(base.starts) == len(route.tasks):
            # A call costs no km: only the ends of the day and waiting gaps can be best.
            ends = [_minute(coord.work_start)] + [
                b + t.duration for b, t in zip(base.starts, route.tasks, strict=True)
            ]
            positions = sorted(
                {0, len(route.tasks)}
                | {i for i, begin in enumerate(base.starts) if begin > ends[i] + base.legs[i][0]}
            )
        profile = self.profile(route, base)
        if profile is not None and task.duration > profile.room:
            return None  # no gap of the day is long enough, wherever it goes

        def with_task(pos: int) -> list[_Task]:
            return [*route.tasks[:pos], task, *route.tasks[pos:]]

        best: tuple[tuple[float, ...], int, _Timed] | None = None
        for pos in positions:
            timed = (
                profile.trial(task, pos)
                if profile is not None
                else _schedule(coord, with_task(pos), self.trips)[0]
            )
            if timed is None:
                continue  # most trials of a full day end here: build the trial only if it fits
            trial = with_task(pos)
            later = timed.end - base.end
            moved = sum(
                1
                for t, begin in zip(trial, timed.starts, strict=True)
                if t.original is not None and t.original != begin
            )
            score: tuple[float, ...]
            if task.phone:
                away = any(not t.phone for t in trial[:pos]) and any(
                    not t.phone for t in trial[pos + 1 :]
                )
                score = (moved, later, 1 if away else 0, pos)
            else:
                score = (moved, round(timed.km - base.km, 6), later, pos)
            if best is None or score < best[0]:
                best = (score, pos, timed)
        return best

    def profile(self, route: _Route, base: _Timed) -> _Profile | None:
        """The route's profile for insertion trials, kept while the route is unchanged."""
        if len(base.starts) != len(route.tasks):
            return None  # not scheduled yet: every trial is scheduled from scratch
        cached = route.profile
        if isinstance(cached, _Profile) and cached.timed is base and cached.tasks == route.tasks:
            return cached
        route.profile = _Profile(route.coord, route.tasks, base, self.trips)
        return route.profile

    def repair(self, tasks: list[_Task]) -> None:
        """Cheapest feasible insertion into an open route, by coordinator preference.

        A call tries its tentative day first (it balances the days).
        """
        for task in sorted(tasks, key=lambda t: t.sort_key()):
            placed = False
            for coord in self.chain(task):
                if not self.reachable(task, coord):
                    continue
                days = self.days_for(task, coord.code)
                tentative = self.tentative.get(task)
                if task.phone and tentative and tentative[0] == coord.code:
                    days.sort(key=lambda d: (d != tentative[1], d))
                best: tuple[tuple[float, ...], _Route, int, _Timed] | None = None
                for day in days:
                    key = (coord.code, day)
                    route = self.routes.get(key) or _Route(coord, day)
                    found = self.insertion(task, route)
                    if found is None:
                        continue
                    score = (0 if self.previous.get(task.key) == key else 1, *found[0])
                    if best is None or score < best[0]:
                        best = (score, route, found[1], found[2])
                    if task.phone and tentative == key:
                        break
                if best is not None:
                    _, route, pos, timed = best
                    route.tasks.insert(pos, task)
                    route.timed = timed
                    self.routes[(route.coord.code, route.day)] = route
                    placed = True
                    break
            if not placed:
                self.give_up(task)

    def insert_frozen(self) -> None:
        """Replan only: displaced or urgent contacts with no place yet, into kept routes.

        An urgent contact (priority 1, e.g. a first assessment after discharge) that
        fits nowhere takes the place of a routine visit (:meth:`make_room`).
        """
        for task in sorted(self.overflow, key=lambda t: t.sort_key()):
            if not (
                self.insert_anywhere(task)
                or (task.contact.priority <= URGENT_PRIORITY and self.make_room(task))
            ):
                self.drop(task)

    def insert_anywhere(self, task: _Task) -> bool:
        return any(
            self.reachable(task, coord) and self.insert_sealed(task, coord)
            for coord in self.chain(task, booked_only=False)
        )

    def make_room(self, task: _Task) -> bool:
        """Put an urgent contact in place of the least urgent routine visit of a day.

        Coordinators in the usual order (the booked one first); in their days, the
        routine visit to give way is the lowest priority, deferrable first, due
        latest. It is inserted elsewhere where it disturbs the fewest stops, or
        listed as unplanned with the reason: nothing is dropped silently.
        """
        for coord in self.chain(task, booked_only=False):
            if not self.reachable(task, coord):
                continue
            days = set(self.sealed_days_for(task, coord.code)) | set(
                self.days_for(task, coord.code)
            )
            for day in sorted(days):
                key = (coord.code, day)
                route = self.routes.get(key) or (self.thaw(key) if key in self.frozen else None)
                if route is not None and self.give_way(task, route):
                    return True
        return False

    def give_way(self, task: _Task, route: _Route) -> bool:
        """Replace the first routine visit of ``route`` whose place ``task`` can take."""
        coord, day = route.coord, route.day
        for victim in _victims(route):
            trial = _Route(coord, day, [t for t in route.tasks if t is not victim])
            trial.timed, _ = _schedule(coord, trial.tasks, self.trips)
            found = self.insertion(task, trial) if trial.timed is not None else None
            if found is None:
                continue
            trial.tasks.insert(found[1], task)
            trial.timed = found[2]
            self.take((coord.code, day), trial)
            self.relocate(_Task(victim.contact, victim.order), day)
            return True
        return False

    def take(self, key: tuple[str, dt.date], route: _Route) -> None:
        """``route`` replaces the kept route ``key``, which is now touched (changed)."""
        self.frozen.pop(key, None)
        self.frozen_return.pop(key, None)
        self.touched.add(key)
        self.routes[key] = route

    def relocate(self, task: _Task, day: dt.date) -> None:
        if not self.insert_anywhere(task):
            reason = f"gave way to an urgent visit on {day}; no other room"
            self.drop(task, reason + _deferral(task.contact))

    def insert_sealed(self, task: _Task, coord: Coordinator) -> bool:
        """Insert into one of ``coord``'s kept (or already touched) routes, if it fits.

        The route and position that move the fewest existing stops win (then an
        already touched route, then the cheapest insertion); existing stops keep
        their order, and only that route changes.
        """
        best: tuple[tuple[float, ...], _Route, int, _Timed] | None = None
        for day in self.sealed_days_for(task, coord.code):
            key = (coord.code, day)
            route = self.routes.get(key) or self.thaw(key)
            found = self.insertion(task, route)
            if found is None:
                continue
            moved, *rest = found[0]
            score = (moved, 0 if key in self.touched else 1, *rest)
            if best is None or score < best[0]:
                best = (score, route, found[1], found[2])
        if best is None:
            return False
        _, route, pos, timed = best
        route.tasks.insert(pos, task)
        route.timed = timed
        self.take((route.coord.code, route.day), route)
        return True

    def thaw(self, key: tuple[str, dt.date]) -> _Route:
        """A frozen route as tasks (not yet unfrozen: that happens on insertion)."""
        coord = self.coords[key[0]]
        stops = sorted(self.frozen[key], key=lambda s: s.sequence)
        tasks = [
            _Task(self.contacts[s.contact_key], -1, pinned=key, original=_minute(s.start))
            for s in stops
        ]
        timed, _ = _schedule(coord, tasks, self.trips)
        return _Route(coord, key[1], tasks, timed)


def _victims(route: _Route) -> list[_Task]:
    """Routine visits that may give way: lowest priority, deferrable, due latest first."""
    return sorted(
        (
            t
            for t in route.tasks
            if not t.fixed and not t.phone and t.contact.priority > URGENT_PRIORITY
        ),
        key=lambda t: (
            -t.contact.priority,
            0 if t.contact.deferrable else 1,
            -t.contact.latest.toordinal(),
            t.key,
        ),
    )
