"""Trying a contact at every position of a scheduled route without re-scheduling it.

Repair tries each contact that found no room at every position of every open day of
every coordinator who may take it, so an insertion trial must be cheap. The exact
schedule of a trial (:func:`_schedule`) is the route's own up to the position, then
the new contact, then the rest of the route pushed later. :class:`_Profile` keeps,
for a scheduled route, the state before each stop (clock, place, drive back) and an
upper bound on each stop's start (the latest start the rest of the day could still
take, found backwards from the end of the day with each stop's own time ranges).
A trial then starts from the state before its position and walks forward only until:

- a stop starts later than its bound: the trial cannot fit (one comparison instead
  of scheduling the rest of the day);
- the state is the route's own again (the push was absorbed by waiting): the rest
  of the day is the route's own, unchanged;
- or the day ends: the usual end-of-day check.

The result is the very :class:`_Timed` that :func:`_schedule` gives for the trial
(the same steps, :func:`_step`, from the same states), so plans do not change; only
the work does. A visit inserted after calls that follow the last visit changes how
those calls are made (they no longer wait for the drive back), and is scheduled
from scratch.
"""

from __future__ import annotations

from care_models.visits.model import Coordinator, Place
from care_models.visits.routing.timelines import (
    _Back,
    _finish,
    _last_visit,
    _minute,
    _schedule,
    _step,
    _Task,
    _Timed,
    _Trips,
)

_State = tuple[int, Place, _Back]


class _Profile:
    """One scheduled route's states and bounds; see the module docstring."""

    def __init__(
        self, coord: Coordinator, tasks: list[_Task], timed: _Timed, trips: _Trips
    ) -> None:
        self.coord, self.tasks, self.timed, self.trips = coord, list(tasks), timed, trips
        self.last_visit = _last_visit(tasks)
        state: _State = (_minute(coord.work_start), coord.office, None)
        self.states: list[_State] = [state]
        for i, task in enumerate(tasks):
            stepped = _step(coord, task, state, i > self.last_visit, trips)
            if stepped is None:  # cannot happen for a scheduled route: its own steps
                raise ValueError("a profile needs a feasible route")
            state = stepped[2]
            self.states.append(state)
        self.bounds = self._latest_starts()
        # Per position, the minutes a new contact may take there at most (a contact
        # put before a visit pushes that visit's start by at least its duration; at
        # the end, the day must still end in time). Only a visit's bound holds for
        # any contact put before it: after a call, the rest may be driven from
        # elsewhere.
        self.gaps = [
            self.bounds[i] - self.states[i][0] if not tasks[i].phone else float("inf")
            for i in range(len(tasks))
        ] + [_minute(coord.work_end) - self.states[len(tasks)][0]]
        self.room = max(self.gaps)

    def _latest_starts(self) -> list[float]:
        """Per stop, no feasible schedule of the rest of the day starts it later.

        Travel only ever takes at least its minutes (lunch can only delay it), so the
        latest departure from a stop is the next stop's bound less the minutes driven
        between them; the stop's latest start is the last of its ranges' starts that
        leaves by then.
        """
        n = len(self.tasks)
        back_at_end = self.states[n][2] is None
        depart: float = _minute(self.coord.work_end) - (self.timed.back[0] if back_at_end else 0)
        bounds: list[float] = [0.0] * n
        for i in range(n - 1, -1, -1):
            task = self.tasks[i]
            latest = depart - task.duration
            bound = max(
                (min(hi, latest) for lo, hi in task.ranges(self.coord) if min(hi, latest) >= lo),
                default=float("-inf"),
            )
            bounds[i] = bound
            drove_back = self.states[i][2] is None and self.states[i + 1][2] is not None
            depart = bound - self.timed.legs[i][0] - (self.timed.back[0] if drove_back else 0)
        return bounds

    def trial(self, task: _Task, pos: int) -> _Timed | None:
        """The exact schedule of the route with ``task`` at ``pos``, or None if it fails."""
        tasks = self.tasks
        if task.duration > self.gaps[pos]:
            return None
        if not task.phone and pos > self.last_visit + 1:
            trial = [*tasks[:pos], task, *tasks[pos:]]
            return _schedule(self.coord, trial, self.trips)[0]
        coord, trips, states, bounds = self.coord, self.trips, self.states, self.bounds
        stepped = _step(coord, task, states[pos], task.phone and pos > self.last_visit, trips)
        if stepped is None:
            return None
        start, leg, state = stepped
        starts, legs = [start], [leg]
        for j in range(pos, len(tasks)):
            own = states[j]
            if state == own:
                return self._joined(pos, starts, legs, j, None)
            stepped = _step(coord, tasks[j], state, j > self.last_visit, trips)
            if stepped is None:
                return None
            start, leg, after = stepped
            if start > bounds[j] and state[1:] == own[1:]:
                return None  # the rest of the day is the route's own, and too late
            starts.append(start)
            legs.append(leg)
            state = after
        if state == states[len(tasks)]:
            return self._joined(pos, starts, legs, len(tasks), None)
        end, back = _finish(coord, state, trips)
        if end > _minute(coord.work_end):
            return None
        return self._joined(pos, starts, legs, len(tasks), (back, end))

    def _joined(
        self,
        pos: int,
        starts: list[int],
        legs: list[tuple[int, float]],
        rejoin: int,
        ending: tuple[tuple[int, float], int] | None,
    ) -> _Timed:
        """The route's own stops before ``pos``, the walked ones, then its own from
        ``rejoin`` (and its own end unless the walk reached a new ``ending``)."""
        own = self.timed
        back, end = ending if ending is not None else (own.back, own.end)
        return _Timed(
            own.starts[:pos] + tuple(starts) + own.starts[rejoin:],
            own.legs[:pos] + tuple(legs) + own.legs[rejoin:],
            back,
            end,
        )
