"""FHIR instants as aware datetimes and back: one reading for the pull and the simulator.

Python's ``fromisoformat`` takes at most six fractional digits; FHIR allows more, so
the fraction is cut (or padded) to microseconds first.
"""

from __future__ import annotations

import datetime as dt
import re

_FRACTION = re.compile(r"\.(\d+)")


def parse_instant(value: str) -> dt.datetime:
    """A FHIR instant (``2025-03-14T01:02:03.123Z``) or date as an aware datetime."""
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def format_instant(moment: dt.datetime) -> str:
    """A FHIR instant to the millisecond, rounded down (a ``ge`` bound only widens)."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
