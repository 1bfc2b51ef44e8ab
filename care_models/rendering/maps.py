"""Small SVG maps: an equirectangular projection fitted to a set of places, a scale bar.

The templates draw the points; this module only computes where they go.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

ROUTE_COLOURS = (
    "#1f6fb2",
    "#d1495b",
    "#2a9d4b",
    "#8a4fbf",
    "#e07b00",
    "#00838f",
    "#7a5c2e",
    "#c2185b",
)


class Located(Protocol):
    """Anything with a latitude and a longitude in degrees."""

    @property
    def latitude(self) -> float: ...

    @property
    def longitude(self) -> float: ...


@dataclass(frozen=True)
class MapPoint:
    x: float
    y: float
    label: str
    title: str


@dataclass(frozen=True)
class Projection:
    """Equirectangular: x east, y south, one scale for both after cos(latitude)."""

    min_x: float
    max_lat: float
    scale: float
    cos_lat: float
    pad_x: float
    pad_y: float

    def __call__(self, place: Located) -> tuple[float, float]:
        x = self.pad_x + (place.longitude * self.cos_lat - self.min_x) * self.scale
        y = self.pad_y + (self.max_lat - place.latitude) * self.scale
        return round(x, 1), round(y, 1)


def fit_projection(
    places: Sequence[Located], width: int = 640, max_height: int = 520, pad: int = 30
) -> tuple[Projection, int]:
    """A projection fitting ``places`` into ``width`` (and at most ``max_height``)."""
    if not places:
        raise ValueError("nothing to draw")
    cos_lat = math.cos(math.radians(sum(p.latitude for p in places) / len(places)))
    xs = [p.longitude * cos_lat for p in places]
    lats = [p.latitude for p in places]
    span_x = max(max(xs) - min(xs), 0.005)
    span_y = max(max(lats) - min(lats), 0.005)
    scale = min((width - 2 * pad) / span_x, (max_height - 2 * pad) / span_y)
    height = max(200, math.ceil(span_y * scale + 2 * pad))
    pad_x = (width - (max(xs) - min(xs)) * scale) / 2
    pad_y = (height - (max(lats) - min(lats)) * scale) / 2
    return Projection(min(xs), max(lats), scale, cos_lat, pad_x, pad_y), height


KM_PER_DEGREE = 111.32


def scale_bar(projection: Projection, width: int) -> tuple[float, str]:
    px_per_km = projection.scale / KM_PER_DEGREE
    for km in (50, 20, 10, 5, 2, 1, 0.5, 0.2, 0.1):
        if km * px_per_km <= width / 4:
            return round(km * px_per_km, 1), f"{km:g} km"
    return round(0.1 * px_per_km, 1), "0.1 km"


def palette(codes: Iterable[str]) -> dict[str, str]:
    """A colour per code, in sorted order of the codes (stable for the same set)."""
    ordered = sorted(codes)
    return {code: ROUTE_COLOURS[i % len(ROUTE_COLOURS)] for i, code in enumerate(ordered)}
