"""Finding a Korean TrueType font to embed in PDFs.

The font comes with the Python dependencies: ``koreanize-matplotlib`` ships NanumGothic
(regular and bold). It is searched first, so every machine embeds the same font and
publishes the same bytes; system font directories (e.g. the Debian package
``fonts-nanum``) are the fallback. The package is located without importing it (its
``__init__`` imports matplotlib).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from care_models.errors import KoreanFontMissingError

FONT_DISTRIBUTION = "koreanize-matplotlib"
FONT_PACKAGE = "fonts-nanum"
KOREAN_TTF_NAMES = ("NanumGothic.ttf", "NanumBarunGothic.ttf")
FONT_DIRS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local" / "share" / "fonts",
    Path.home() / ".fonts",
    Path("/Library/Fonts"),
)


@dataclass(frozen=True)
class KoreanFont:
    regular: Path
    bold: Path | None = None


def bundled_font_dirs() -> tuple[Path, ...]:
    """The ``fonts`` folder of the installed ``koreanize_matplotlib`` (not imported)."""
    try:
        spec = importlib.util.find_spec("koreanize_matplotlib")
    except (ImportError, ValueError):
        return ()
    if spec is None or not spec.submodule_search_locations:
        return ()
    return tuple(Path(location) / "fonts" for location in spec.submodule_search_locations)


def find_korean_font(
    search_dirs: Iterable[Path] = FONT_DIRS, bundled_dirs: Iterable[Path] | None = None
) -> KoreanFont:
    """The bundled NanumGothic, else the first Korean TrueType font under ``search_dirs``.

    ``bundled_dirs`` defaults to :func:`bundled_font_dirs`; pass ``()`` to search the
    system directories only.
    """
    bundled = bundled_font_dirs() if bundled_dirs is None else tuple(Path(d) for d in bundled_dirs)
    system = [Path(d) for d in search_dirs]
    for group in (bundled, system):
        font = _first_font(group)
        if font is not None:
            return font
    raise KoreanFontMissingError(
        KOREAN_TTF_NAMES,
        [*bundled, *system],
        f"install the Python dependency {FONT_DISTRIBUTION} (it bundles NanumGothic) "
        f"or the Debian package {FONT_PACKAGE} (apt-get install {FONT_PACKAGE})",
    )


def _first_font(dirs: Iterable[Path]) -> KoreanFont | None:
    found: dict[str, Path] = {}
    for directory in dirs:
        if not directory.is_dir():
            continue
        for root, _subdirs, files in sorted(os.walk(directory)):
            for name in sorted(files):
                if name in KOREAN_TTF_NAMES and name not in found:
                    found[name] = Path(root) / name
    for name in KOREAN_TTF_NAMES:
        if name in found:
            regular = found[name]
            bold = regular.with_name(f"{regular.stem}Bold{regular.suffix}")
            return KoreanFont(regular, bold if bold.is_file() else None)
    return None
