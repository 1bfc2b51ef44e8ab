"""The Korean font comes with the Python dependencies: found with no system font at all."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from care_models.errors import ConfigurationError, KoreanFontMissingError
from care_models.rendering.fonts import find_korean_font
from care_models.visits.sheets import render_day_sheet_pdf
from tests.support.pdf import pdf_font_names
from tests.unit.visits.test_visit_publish import sample_sheet


def _distribution_files() -> set[Path]:
    dist = importlib.metadata.distribution("koreanize-matplotlib")
    return {Path(str(dist.locate_file(f))).resolve() for f in dist.files or ()}


def test_bundled_font_is_found_when_the_system_has_none(tmp_path: Path) -> None:
    font = find_korean_font([tmp_path / "empty-does-not-exist"])
    assert font.regular.name == "NanumGothic.ttf"
    assert font.bold is not None and font.bold.name == "NanumGothicBold.ttf"
    shipped = _distribution_files()
    assert font.regular.resolve() in shipped and font.bold.resolve() in shipped


def test_pdf_rendered_with_the_bundled_font_embeds_it(tmp_path: Path) -> None:
    font = find_korean_font([tmp_path])
    pdf = render_day_sheet_pdf(sample_sheet(), font)
    assert pdf.startswith(b"%PDF-") and b"/FontFile2" in pdf
    names = pdf_font_names(pdf)  # subsets of the TrueType font, tagged AAAAAA+Name
    assert any(name.endswith("+NanumGothic") for name in names), names
    assert any(name.endswith("+NanumGothicBold") for name in names), names


def test_no_bundled_and_no_system_font_names_what_is_missing(tmp_path: Path) -> None:
    absent = tmp_path / "absent"
    with pytest.raises(KoreanFontMissingError) as caught:
        find_korean_font([absent], bundled_dirs=[tmp_path / "no-bundle"])
    error = caught.value
    assert isinstance(error, ConfigurationError) and error.setting == "Korean font"
    message = str(error)
    for expected in ("NanumGothic.ttf", str(absent), "koreanize-matplotlib", "fonts-nanum"):
        assert expected in message
