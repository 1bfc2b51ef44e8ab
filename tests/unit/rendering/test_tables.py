"""CSV for Excel: a cell a spreadsheet would run as a formula is written as text."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from care_models.rendering.tables import FORMULA_TRIGGERS, excel_csv, neutralise

HOSTILE = (
    '=HYPERLINK("http://x","홍길동")',
    "=010-1234-5678",
    "+82-10-1234-5678",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "＝HYPERLINK(1)",
)


def _read_back(path: Path) -> list[list[str]]:
    body = path.read_bytes()
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_hostile_cells_are_written_as_text(tmp_path: Path) -> None:
    path = tmp_path / "stops.csv"
    path.write_bytes(excel_csv(("name", "phone"), [(value, value) for value in HOSTILE]))
    header, *rows = _read_back(path)
    assert header == ["name", "phone"]
    assert len(rows) == len(HOSTILE)
    for row, value in zip(rows, HOSTILE, strict=True):
        for cell in row:
            assert not cell.startswith(FORMULA_TRIGGERS), cell
            assert cell == "'" + value  # the value is kept, behind one apostrophe


@pytest.mark.parametrize("value", ["홍길동", "010-1234-5678", "O'Brien", "", "3.5"])
def test_ordinary_text_is_left_alone(value: str) -> None:
    assert neutralise(value) == value


def test_numbers_stay_numbers(tmp_path: Path) -> None:
    path = tmp_path / "n.csv"
    path.write_bytes(excel_csv(("n", "km"), [(-3, -1.5), (2, 0.0)]))
    assert _read_back(path)[1:] == [["-3", "-1.5"], ["2", "0.0"]]
