"""The grep of the "done when": personal values must not be anywhere outside the
coordinator's own day sheets. Hostile test values go in; every store is searched as bytes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

from care_models.privacy import PersonalFields, coarse
from care_models.synthetic.county import County
from care_models.synthetic.referrals import ReferralSpec

HOSTILE_NAME = '=HYPERLINK("http://x","홍길동")'
HOSTILE_PHONE = "=010-1234-5678"
HOSTILE_RRN = "410305-2345671"
HOSTILE_ADDRESS_TAIL = "=1+1 무궁화아파트 101동"


def hostile(spec: ReferralSpec) -> ReferralSpec:
    """``spec`` sent for a new person whose every personal field is hostile."""
    person = PersonalFields(
        name=HOSTILE_NAME,
        birth_date=dt.date(1941, 3, 5),
        address=f"{spec.person.address} {HOSTILE_ADDRESS_TAIL}",
        phone=HOSTILE_PHONE,
        rrn=HOSTILE_RRN,
    )
    return dataclasses.replace(spec, person=person)


def hostile_needles(spec: ReferralSpec) -> list[str]:
    return [
        HOSTILE_NAME,
        "HYPERLINK",
        HOSTILE_PHONE[1:],
        "01012345678",
        HOSTILE_RRN,
        HOSTILE_RRN.replace("-", ""),
        HOSTILE_ADDRESS_TAIL,
        spec.person.address,
    ]


def county_needles(county: County, clients: int | None = None) -> list[str]:
    """Phones, addresses, RRNs and names (not shared with any staff member) of clients."""
    staff_names = {s.name for s in county.staff}
    needles: list[str] = []
    for client in county.clients[:clients]:
        person = client.person
        needles += [person.address, *(v for v in (person.phone, person.rrn) if v)]
        if person.phone:
            needles.append(person.phone.replace("-", ""))
        if person.name not in staff_names and len(person.name) >= 3:
            needles.append(person.name)
    return needles


def exact_coordinates(county: County, clients: int | None = None) -> list[float]:
    """Exact home coordinates that differ from their grid copy (so a leak is a leak)."""
    values = []
    for client in county.clients[:clients]:
        values += [v for v in (client.latitude, client.longitude) if coarse(v) != v]
    return values


def coordinate_needles(values: Iterable[float]) -> list[bytes]:
    """Each coordinate as text and as the big-endian double SQLite stores."""
    found: list[bytes] = []
    for value in values:
        found += [repr(value).encode(), f"{value:.6f}".encode(), struct.pack(">d", value)]
    return found


def files_under(root: Path) -> Iterator[Path]:
    if root.exists():
        yield from (p for p in sorted(root.rglob("*")) if p.is_file())


def is_day_sheet(path: Path, out_dir: Path) -> bool:
    """The coordinator's own files: out/visits/<Monday>/<staff>/<staff>_<day>.html|.pdf|.csv.

    The CSV is the day sheets as a table, for the coordinator's spreadsheet; the calendar
    (.ics) is not (a subscription copies it to a calendar service).
    """
    parts = path.relative_to(out_dir).parts
    return (
        len(parts) == 4
        and parts[0] == "visits"
        and parts[3].startswith(parts[2] + "_")
        and path.suffix in (".html", ".pdf", ".csv")
    )


def xcom_text(airflow_db: Path) -> str:
    with sqlite3.connect(airflow_db) as connection:
        rows = connection.execute("SELECT value FROM xcom").fetchall()
    return "\n".join(str(value) for (value,) in rows)


def find_leaks(
    sources: Iterable[tuple[str, bytes]], needles: Iterable[str], raw: Iterable[bytes] = ()
) -> list[str]:
    """``where: needle`` for each needle found in a source (never the bytes around it)."""
    encoded = [n.encode() for n in needles if n] + list(raw)
    leaks = []
    for where, content in sources:
        for needle in encoded:
            if needle in content:
                leaks.append(f"{where}: {needle!r}")
    return leaks


def stores(
    home: Path, care_db: Path, database_text: str, run_output: str
) -> Iterator[tuple[str, bytes]]:
    """Everything a run leaves behind, as bytes: the care database (file, WAL and every
    table's text, gate results and audit rows included), Airflow's metadata database and
    its XCom table, the task logs, the runs' output, and every published file but the
    coordinators' own day sheets."""
    for path in sorted(care_db.parent.glob(f"{care_db.name}*")):
        yield f"care database file {path.name}", path.read_bytes()
    yield "care database tables", database_text.encode()
    airflow_db = home / "airflow.db"
    yield "Airflow XCom", xcom_text(airflow_db).encode()
    for path in sorted(home.glob("airflow.db*")):
        yield f"Airflow metadata {path.name}", path.read_bytes()
    for path in files_under(home / "logs"):
        yield f"log {path.relative_to(home)}", path.read_bytes()
    yield "run output", run_output.encode()
    out_dir = home / "var" / "out"
    for path in files_under(out_dir):
        if not is_day_sheet(path, out_dir):
            yield f"published {path.relative_to(out_dir)}", path.read_bytes()
