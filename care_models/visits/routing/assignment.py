"""Coordinator (continuity of carer) and tentative day (balance): steps 2 and 3."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import numpy as np

from care_models.visits.model import Coordinator
from care_models.visits.routing.repair import _Repairs
from care_models.visits.routing.timelines import (
    _free_minutes,
    _Load,
    _Task,
)


class _Assignment(_Repairs):
    """One coordinator per (client, skill), then a tentative day per contact."""

    def need(self, task: _Task, coord: Coordinator) -> int:
        """Estimated minutes: the contact and, for a visit, one leg from the office."""
        if task.phone:
            return task.duration
        return task.duration + self.trips.leg(coord.office, task.contact.place)[0]

    def assign_pairs(self) -> None:
        """One coordinator per (client, skill): previous, usual, else a sweep share."""
        committed: dict[str, int] = {code: 0 for code in self.coords}
        for key, load in self.loads.items():
            committed[key[0]] = committed.get(key[0], 0) + load.minutes
        pairs: dict[tuple[str, str], list[_Task]] = {}
        for task in self.tasks:
            pairs.setdefault((task.contact.client_code, task.contact.skill), []).append(task)
        groups: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        for pair in sorted(pairs):
            tasks = pairs[pair]
            chosen = self.kept_coordinator(tasks)
            if chosen is not None:
                self.pair_coord[pair] = chosen
                committed[chosen] += sum(self.need(t, self.coords[chosen]) for t in tasks)
                continue
            contact = tasks[0].contact
            skilled = [c for c in self.by_skill.get(contact.skill, []) if self.open_days[c.code]]
            local = [c for c in skilled if c.town_code == contact.town_code] or skilled
            if local:
                groups.setdefault(tuple(c.code for c in local), []).append(pair)
        for codes, members in sorted(groups.items()):
            self.sweep([self.coords[code] for code in codes], members, pairs, committed)

    def kept_coordinator(self, tasks: list[_Task]) -> str | None:
        """The previous plan's coordinator of a (client, skill), else the usual one."""
        contact = tasks[0].contact
        for task in tasks:
            prev = self.previous.get(task.key)
            if prev and prev[0] in self.coords and contact.skill in self.coords[prev[0]].skills:
                return prev[0]
        usual = contact.usual_staff_code
        if (
            usual in self.coords
            and contact.skill in self.coords[usual].skills
            and self.open_days[usual]
        ):
            return usual
        return None

    def sweep(
        self,
        cands: list[Coordinator],
        members: list[tuple[str, str]],
        pairs: dict[tuple[str, str], list[_Task]],
        committed: dict[str, int],
    ) -> None:
        """Share ``members`` out by angle around their centre, in proportion to free time."""
        places = [pairs[p][0].contact.place for p in members]
        lat = sum(p.latitude for p in places) / len(places)
        lon = sum(p.longitude for p in places) / len(places)
        members.sort(
            key=lambda p: (
                math.atan2(
                    pairs[p][0].contact.place.latitude - lat,
                    pairs[p][0].contact.place.longitude - lon,
                ),
                p,
            )
        )
        free = [
            max(1, _free_minutes(c) * len(self.open_days[c.code]) - committed[c.code])
            for c in cands
        ]
        loads = [sum(self.need(t, cands[0]) for t in pairs[p]) for p in members]
        total_free, total_load = sum(free), max(1, sum(loads))
        bounds = list(np.cumsum(free) / total_free)
        done = 0
        for pair, size in zip(members, loads, strict=True):
            middle = (done + size / 2) / total_load
            k = next((i for i, b in enumerate(bounds) if middle <= b), len(cands) - 1)
            self.pair_coord[pair] = cands[k].code
            done += size

    def assign_days(self, tasks: Sequence[_Task]) -> None:
        for task in sorted(tasks, key=lambda t: t.sort_key()):
            if task.pinned is not None:
                self.tentative[task] = task.pinned
                continue
            placed = False
            for coord in self.chain(task):
                if not self.reachable(task, coord):
                    continue
                best: tuple[tuple[int, float, dt.date], dt.date] | None = None
                need = self.need(task, coord)
                previous = self.previous.get(task.key)
                for day in self.days_for(task, coord.code):
                    load = self.loads.get((coord.code, day), _Load())
                    full = (
                        not task.phone and load.visits + 1 > coord.max_visits_per_day
                    ) or load.minutes + need > _free_minutes(coord)
                    if full and not task.fixed:
                        continue
                    score = (
                        0 if previous == (coord.code, day) else 1,
                        (load.minutes + need) / _free_minutes(coord) + (1.0 if full else 0.0),
                        day,
                    )
                    if best is None or score < best[0]:
                        best = (score, day)
                if best is None:
                    if task.key in self.may_disturb and self.insert_sealed(task, coord):
                        placed = True
                        break
                    continue
                key = (coord.code, best[1])
                load = self.loads.setdefault(key, _Load())
                load.visits += 0 if task.phone else 1
                load.minutes += need
                self.tentative[task] = key
                placed = True
                break
            if not placed:  # the estimate says full: the exact repair may still fit it
                self.deferred.append(task)
