"""Referral Bundles mutated one element at a time: odd values, deletions, unknown keys."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

ODD_VALUES: list[Any] = [
    None, "", " ", "x", " x", "x ", "x  y", "x\ny", "x\n", "\u00a0", "\u3000x", "한글",
    "2026-02-29", "2026-02-30", "2026-13-01", "2026", "2026-11", "0000-01-01", "0001-01-01",
    "1899-12-31", "9999-12-31", "2026-11-01T10:00:00+09:00", "2026-11-01T10:00:00",
    "urn:uuid:x y", "POST", "GET", "http://example.org/a", "#frag",
    0, -1, 1, 2**31, -(2**31) - 1, 1.0, 1.5, True, False,
    [], {}, [None], [{}], ["x"], [1], {"x": 1}, {"text": "x"}, {"reference": "x"},
    {"coding": [{"code": "x"}]}, {"extension": []},
]  # fmt: skip


def paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, (*path, index))


def mutations(document: dict[str, Any], rng: random.Random) -> Iterator[dict[str, Any]]:
    for path in list(paths(document))[1:]:
        parent_path, last = path[:-1], path[-1]
        for value in [*ODD_VALUES, "__delete__", "__unknown__", "__twice__"]:
            mutated = copy.deepcopy(document)
            parent = mutated
            for part in parent_path:
                parent = parent[part]
            if value == "__delete__":
                del parent[last]
            elif value == "__unknown__":
                target = parent[last]
                if not isinstance(target, dict):
                    continue
                target[rng.choice(["extension", "_status", "meta", "fhir_comments", "zz"])] = []
            elif value == "__twice__":
                if not isinstance(parent, list):
                    continue
                parent.append(copy.deepcopy(parent[last]))
            else:
                parent[last] = copy.deepcopy(value)
            yield mutated
