"""reportlab helpers: Korean font registration and reproducible A4 documents."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import IO, Any

from care_models.rendering.fonts import KoreanFont, find_korean_font


@lru_cache(maxsize=4)
def register_font(font: KoreanFont) -> tuple[str, str]:
    """Register the font with reportlab (once); returns the regular and bold font names."""
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    regular = f"Care-{font.regular.stem}"
    bold = f"Care-{font.bold.stem}" if font.bold else regular
    pdfmetrics.registerFont(TTFont(regular, str(font.regular)))
    if font.bold:
        pdfmetrics.registerFont(TTFont(bold, str(font.bold)))
    addMapping(regular, 0, 0, regular)
    addMapping(regular, 1, 0, bold)
    addMapping(regular, 0, 1, regular)
    addMapping(regular, 1, 1, bold)
    return regular, bold


def korean_fonts(font: KoreanFont | None = None) -> tuple[str, str]:
    """The registered regular and bold names of ``font`` (default: the font search's)."""
    return register_font(font or find_korean_font())


def a4_document(
    buffer: IO[bytes], *, title: str, author: str, font_name: str, **margins: float
) -> Any:
    """An A4 ``SimpleDocTemplate`` in invariant mode: the same content, the same bytes."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate

    return SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=title,
        author=author,
        subject=title,
        creator="integrated-care",
        lang="ko-KR",
        initialFontName=font_name,
        invariant=1,
        **margins,
    )


def ruled_table(rows: Sequence[Sequence[Any]], widths_mm: Sequence[float]) -> Any:
    """A table with a ruled grid, a shaded header row repeated on each page, cells at
    the top: the printed documents' tables (police report, agendas, pledge report)."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Table, TableStyle

    table = Table([list(row) for row in rows], colWidths=[w * mm for w in widths_mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#888888")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table
