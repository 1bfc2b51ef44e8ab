"""Bar charts of target against actual, drawn once and rendered to PDF and to SVG.

One reportlab ``Drawing`` serves both outputs: in a PDF it is a flowable whose labels
are text in the embedded Korean font (searchable, sharp in print); for HTML it is
rendered to inline SVG whose labels are text too, with the page's font stack. Nothing
is fetched and no raster is made, so charts render offline and byte-identically.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

TARGET_COLOUR = "#9db3cc"
ACTUAL_COLOUR = "#1f4e79"
CSS_FONTS = "'Noto Sans KR', 'NanumGothic', 'Malgun Gothic', sans-serif"


@dataclass(frozen=True)
class Point:
    """One period of a series: its label, the target and the actual (either may be
    missing: a period without a target, or an actual not known yet)."""

    label: str
    target: Decimal | None
    actual: Decimal | None


def target_actual_chart(
    title: str, unit: str, points: Sequence[Point], font_name: str, width: float = 240
) -> Any:
    """A grouped bar chart (target, actual) per period with a legend, in points."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    height = 150.0
    drawing = Drawing(width, height)
    drawing.add(String(4, height - 14, f"{title} ({unit})", fontName=font_name, fontSize=8.5))
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 34, 30, width - 44, height - 66
    chart.data = [
        [float(p.target) if p.target is not None else 0.0 for p in points],
        [float(p.actual) if p.actual is not None else 0.0 for p in points],
    ]
    chart.categoryAxis.categoryNames = [p.label for p in points]
    chart.categoryAxis.labels.fontName = font_name
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = font_name
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor(TARGET_COLOUR)
    chart.bars[1].fillColor = colors.HexColor(ACTUAL_COLOUR)
    chart.bars.strokeWidth = 0
    chart.barSpacing = 1
    chart.groupSpacing = 6
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = 40, height - 24
    legend.fontName, legend.fontSize = font_name, 7
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.deltax = 60
    legend.colorNamePairs = [
        (colors.HexColor(TARGET_COLOUR), "목표(A)"),
        (colors.HexColor(ACTUAL_COLOUR), "실적(B)"),
    ]
    drawing.add(legend)
    return drawing


def drawing_svg(drawing: Any, element_id: str, label: str) -> str:
    """The drawing as an inline ``<svg>`` element: no XML prolog, the clip path's id
    made unique on the page, the page's Korean font stack, an accessible label."""
    from reportlab.graphics import renderSVG

    text = renderSVG.drawToString(drawing)
    text = text[text.index("<svg") :]
    text = text.replace('id="clip"', f'id="{element_id}-clip"').replace(
        "url(#clip)", f"url(#{element_id}-clip)"
    )
    text = re.sub(r"font-family: ?[^;\"]+", f"font-family: {CSS_FONTS}", text)
    text = re.sub(r'font-family="[^"]*"', f'font-family="{CSS_FONTS}"', text)
    text = re.sub(r"<title>.*?</title>", f"<title>{_escape(label)}</title>", text, count=1)
    return text.replace("<svg ", f'<svg id="{element_id}" role="img" ', 1)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
