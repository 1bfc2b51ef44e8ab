"""Travel between places: how far (km) and how long (whole minutes) a coordinator drives.

The planner only needs a :class:`TravelModel`: ``km(a, b)`` and ``minutes(a, b)``.

* :class:`HaversineTravel` (the default) estimates road distance as the great-circle
  (haversine) distance times a road factor (1.3: rural Korean roads wind around hills
  and paddies), and time from a speed that depends on the area: ``urban_kmh`` when
  both ends lie within ``urban_radius_km`` (2 km) of one of the ``urban_places`` (the
  town offices of the eup, the county's built-up towns), ``rural_kmh`` otherwise.
  Minutes are rounded to the nearest whole minute, with at least one minute for any
  trip longer than 50 m.
* :class:`MatrixTravel` is the pluggable real-distance interface: it takes a
  precomputed distance/duration matrix over a list of places (e.g. from a road
  router or a municipal GIS export) and answers from it, falling back to another
  model for places the matrix does not know.

Both also offer ``matrix(places)``, the vectorised square matrices that the router
uses; any other model gets them through :func:`travel_matrices` pair by pair.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from care_models.errors import ValidationError
from care_models.visits.model import Place

EARTH_RADIUS_KM = 6371.0088


@runtime_checkable
class TravelModel(Protocol):
    def minutes(self, a: Place, b: Place) -> int: ...

    def km(self, a: Place, b: Place) -> float: ...


def haversine_km(a: Place, b: Place) -> float:
    """Great-circle distance in km."""
    lat1, lon1 = math.radians(a.latitude), math.radians(a.longitude)
    lat2, lon2 = math.radians(b.latitude), math.radians(b.longitude)
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _haversine_matrix(places: Sequence[Place]) -> np.ndarray:
    lat = np.radians(np.array([p.latitude for p in places], dtype=float))
    lon = np.radians(np.array([p.longitude for p in places], dtype=float))
    dlat = lat[None, :] - lat[:, None]
    dlon = lon[None, :] - lon[:, None]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    result: np.ndarray = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return result


def _to_minutes(km: float, kmh: float) -> int:
    if km <= 0.05:
        return 0
    return max(1, math.floor(km / kmh * 60 + 0.5))


class HaversineTravel:
    """Haversine km × road factor; rural or urban speed (see the module docstring)."""

    def __init__(
        self,
        road_factor: float = 1.3,
        rural_kmh: float = 40.0,
        urban_kmh: float = 25.0,
        urban_places: Iterable[Place] = (),
        urban_radius_km: float = 2.0,
    ) -> None:
        if road_factor < 1 or rural_kmh <= 0 or urban_kmh <= 0:
            raise ValidationError("road_factor", "must be >= 1 and speeds positive")
        self.road_factor = road_factor
        self.rural_kmh = rural_kmh
        self.urban_kmh = urban_kmh
        self.urban_places = tuple(urban_places)
        self.urban_radius_km = urban_radius_km

    def km(self, a: Place, b: Place) -> float:
        return haversine_km(a, b) * self.road_factor

    def is_urban(self, place: Place) -> bool:
        return any(haversine_km(place, u) <= self.urban_radius_km for u in self.urban_places)

    def minutes(self, a: Place, b: Place) -> int:
        urban = self.is_urban(a) and self.is_urban(b)
        return _to_minutes(self.km(a, b), self.urban_kmh if urban else self.rural_kmh)

    def matrix(self, places: Sequence[Place]) -> tuple[np.ndarray, np.ndarray]:
        """(km, minutes) square matrices over ``places``, as float and int64 arrays."""
        km = _haversine_matrix(places) * self.road_factor
        if self.urban_places:
            to_urban = _haversine_matrix([*places, *self.urban_places])[
                : len(places), len(places) :
            ]
            urban: np.ndarray = np.asarray((to_urban <= self.urban_radius_km).any(axis=1))
        else:
            urban = np.zeros(len(places), dtype=bool)
        speed = np.where(urban[:, None] & urban[None, :], self.urban_kmh, self.rural_kmh)
        minutes = np.floor(km / speed * 60 + 0.5).astype(np.int64)
        minutes = np.where(km <= 0.05, 0, np.maximum(minutes, 1))
        return km, minutes


class MatrixTravel:
    """Answers from a precomputed matrix: ``km[i][j]`` and ``minutes[i][j]`` over ``places``.

    Places are matched exactly (``Place`` is a frozen dataclass). A place outside the
    matrix is answered by ``fallback`` when one is given, otherwise ``KeyError``.
    """

    def __init__(
        self,
        places: Sequence[Place],
        km: Sequence[Sequence[float]] | np.ndarray,
        minutes: Sequence[Sequence[int]] | np.ndarray,
        fallback: TravelModel | None = None,
    ) -> None:
        self._index: dict[Place, int] = {}
        for i, place in enumerate(places):
            self._index.setdefault(place, i)
        self._km = np.asarray(km, dtype=float)
        self._minutes = np.asarray(minutes, dtype=np.int64)
        n = len(places)
        if self._km.shape != (n, n) or self._minutes.shape != (n, n):
            raise ValidationError("matrices", f"must be {n}x{n} for {n} places")
        if (self._km < 0).any() or (self._minutes < 0).any():
            raise ValidationError("matrices", "distances and durations must not be negative")
        self.fallback = fallback

    def _pair(self, a: Place, b: Place) -> tuple[int, int] | None:
        i, j = self._index.get(a), self._index.get(b)
        if i is None or j is None:
            if self.fallback is None:
                raise KeyError(f"place {a if i is None else b} is not in the travel matrix")
            return None
        return i, j

    def km(self, a: Place, b: Place) -> float:
        pair = self._pair(a, b)
        if pair is None:
            assert self.fallback is not None
            return self.fallback.km(a, b)
        return float(self._km[pair])

    def minutes(self, a: Place, b: Place) -> int:
        pair = self._pair(a, b)
        if pair is None:
            assert self.fallback is not None
            return self.fallback.minutes(a, b)
        return int(self._minutes[pair])

    def matrix(self, places: Sequence[Place]) -> tuple[np.ndarray, np.ndarray]:
        idx = [self._index.get(p) for p in places]
        if any(i is None for i in idx):
            return travel_matrices(_PairOnly(self), places)
        rows = np.array(idx, dtype=np.int64)
        return self._km[np.ix_(rows, rows)], self._minutes[np.ix_(rows, rows)]


class _PairOnly:
    """Hides ``matrix`` so that :func:`travel_matrices` asks pair by pair."""

    def __init__(self, travel: TravelModel) -> None:
        self._travel = travel

    def km(self, a: Place, b: Place) -> float:
        return self._travel.km(a, b)

    def minutes(self, a: Place, b: Place) -> int:
        return self._travel.minutes(a, b)


def travel_matrices(travel: TravelModel, places: Sequence[Place]) -> tuple[np.ndarray, np.ndarray]:
    """(km, minutes) square matrices; vectorised when the model offers ``matrix``."""
    matrix = getattr(travel, "matrix", None)
    if callable(matrix):
        km, minutes = matrix(places)
        return np.asarray(km, dtype=float), np.asarray(minutes, dtype=np.int64)
    n = len(places)
    km_m = np.zeros((n, n), dtype=float)
    min_m = np.zeros((n, n), dtype=np.int64)
    for i, a in enumerate(places):
        for j, b in enumerate(places):
            if i != j:
                km_m[i, j] = travel.km(a, b)
                min_m[i, j] = travel.minutes(a, b)
    return km_m, min_m


__all__ = [
    "HaversineTravel",
    "MatrixTravel",
    "TravelModel",
    "haversine_km",
    "travel_matrices",
]
