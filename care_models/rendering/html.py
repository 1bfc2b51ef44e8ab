"""The jinja2 environment of the HTML documents (autoescaped, strict, Korean filters)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from care_models.rendering.labels import korean_date, short_date

TEMPLATES_ROOT = Path(__file__).resolve().parent.parent / "templates"


@lru_cache(maxsize=8)
def environment(templates_dir: Path) -> Environment:
    """One cached environment per template folder (e.g. ``TEMPLATES_ROOT / "visits"``)."""
    env = Environment(
        loader=FileSystemLoader([templates_dir, TEMPLATES_ROOT]),  # shared parts at the root
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["km"] = lambda value: f"{value:.1f}"
    env.filters["korean_date"] = korean_date
    env.filters["short_date"] = short_date
    return env
