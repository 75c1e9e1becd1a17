"""The Tesseract engine behind the ``ocr`` plugin: one initialised API per language set.

Initialising Tesseract costs tens of milliseconds per language, so each worker keeps its
API objects for its whole life. A ``PyTessBaseAPI`` is not thread-safe: calls on one
object are serialised with a lock. Parallelism comes from worker processes, not threads.

Tesseract's own OpenMP threading is limited to one thread (``OMP_THREAD_LIMIT=1``). On a
small machine its default of "all cores per page" makes several workers fight over the
same cores and runs several times slower than one thread each. OpenMP reads the variable
when its runtime loads, i.e. when ``tesserocr`` is first imported, so the engine sets it
and only then imports ``tesserocr`` (lazily, in :meth:`TesseractEngine.start`).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from app.plugins.base import InvalidInput
from app.plugins.vocabulary import box_from_corners

#: Operators may raise Tesseract's per-worker thread count with this variable.
THREADS_ENV = "VISOR_OCR_THREADS"
_MAX_CACHED_LANGS = 4


@dataclass(frozen=True)
class Element:
    """One recognised block, paragraph, line or word; ``parent`` indexes the level above."""

    text: str
    confidence: float  # [0, 1]
    box: tuple[int, int, int, int]
    parent: int


@dataclass
class Page:
    """Tesseract's layout of one image, each level in its reading order."""

    blocks: list[Element] = field(default_factory=list)
    paragraphs: list[Element] = field(default_factory=list)
    lines: list[Element] = field(default_factory=list)
    words: list[Element] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def confidence(self) -> float:
        words = self.words
        return sum(w.confidence for w in words) / len(words) if words else 0.0


def limit_threads() -> None:
    """One OpenMP thread per worker unless the operator asked for more; see module doc."""
    os.environ["OMP_THREAD_LIMIT"] = os.environ.get(THREADS_ENV, "1")


class TesseractEngine:
    def __init__(self, tessdata_dir: Path, languages: list[str]) -> None:
        self.tessdata_dir = tessdata_dir
        self.languages = languages
        self._apis: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._tesserocr: Any = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, preload: str = "eng") -> None:
        limit_threads()
        import tesserocr  # imported here, after the thread limit is in the environment

        self._tesserocr = tesserocr
        if preload in self.languages:
            self._api(preload)

    def stop(self) -> None:
        with self._guard:
            apis, self._apis = self._apis, {}
        for api in apis.values():
            api.End()

    @property
    def version(self) -> str:
        if self._tesserocr is None:
            return "not started"
        return str(self._tesserocr.tesseract_version().splitlines()[0])

    def _api(self, lang: str) -> Any:
        missing = [code for code in lang.split("+") if code not in self.languages]
        if missing:
            raise InvalidInput(
                f"language(s) {missing} not installed; installed: {self.languages}",
                details={"field": "lang", "installed": self.languages},
            )
        with self._guard:
            api = self._apis.get(lang)
            if api is None:
                if len(self._apis) >= _MAX_CACHED_LANGS:  # drop the oldest combination
                    oldest = next(iter(self._apis))
                    with self._locks[oldest]:
                        self._apis.pop(oldest).End()
                api = self._tesserocr.PyTessBaseAPI(
                    path=str(self.tessdata_dir) + os.sep, lang=lang, init=True
                )
                self._apis[lang] = api
                self._locks[lang] = threading.Lock()
            return api

    @contextmanager
    def _session(
        self, image: Image.Image, lang: str, psm: int, variables: dict[str, str], dpi: int | None
    ) -> Iterator[Any]:
        """The language's API, locked, with ``image`` set; every setting undone afterwards."""
        api = self._api(lang)
        with self._locks[lang]:
            defaults = {name: api.GetVariableAsString(name) for name in variables}
            try:
                for name, value in variables.items():
                    if not api.SetVariable(name, value):
                        raise InvalidInput(
                            f"Tesseract refused the variable {name}={value!r}",
                            details={"field": "variables", "name": name},
                        )
                api.SetPageSegMode(psm)
                api.SetImage(image)
                if dpi:
                    api.SetSourceResolution(dpi)
                yield api
            finally:
                api.Clear()
                for name, value in defaults.items():
                    if value is not None:
                        api.SetVariable(name, value)

    # -- recognition ------------------------------------------------------------------------

    def read_text(
        self,
        image: Image.Image,
        lang: str,
        psm: int,
        variables: dict[str, str] | None = None,
        dpi: int | None = None,
    ) -> tuple[str, float]:
        """Plain text and mean confidence in [0, 1], without the layout walk."""
        with self._session(image, lang, psm, variables or {}, dpi) as api:
            text = api.GetUTF8Text() or ""
            confidence = float(api.MeanTextConf())
        return tidy(text), max(0.0, confidence) / 100.0

    def read_page(
        self,
        image: Image.Image,
        lang: str,
        psm: int,
        variables: dict[str, str] | None = None,
        dpi: int | None = None,
    ) -> Page:
        """Blocks, paragraphs, lines and words with boxes, in Tesseract's reading order."""
        tess = self._tesserocr
        ril = tess.RIL
        levels = ((ril.BLOCK, "blocks"), (ril.PARA, "paragraphs"), (ril.TEXTLINE, "lines"))
        page = Page()
        with self._session(image, lang, psm, variables or {}, dpi) as api:
            api.Recognize()
            iterator = api.GetIterator()
            if iterator is None:
                return page
            for item in tess.iterate_level(iterator, ril.WORD):
                parent = -1
                for level, attr in levels:
                    items: list[Element] = getattr(page, attr)
                    if item.IsAtBeginningOf(level) or not items:
                        found = _element(item, level, parent)
                        if found is not None:
                            items.append(found)
                    parent = len(items) - 1
                word = _element(item, ril.WORD, max(0, parent))
                if word is not None and page.lines:
                    page.words.append(word)
        return page

    def render(
        self,
        image: Image.Image,
        lang: str,
        psm: int,
        variables: dict[str, str] | None,
        dpi: int | None,
        fmt: str,
    ) -> tuple[str, float]:
        """Tesseract's own hOCR or TSV output for the page, and its mean confidence."""
        with self._session(image, lang, psm, variables or {}, dpi) as api:
            api.Recognize()
            rendered = api.GetHOCRText(0) if fmt == "hocr" else api.GetTSVText(0)
            confidence = float(api.MeanTextConf())
        return str(rendered or ""), max(0.0, confidence) / 100.0


def _element(item: Any, level: Any, parent: int) -> Element | None:
    try:
        text = (item.GetUTF8Text(level) or "").strip()
    except RuntimeError:  # tesserocr's "No text returned" for an empty element
        return None
    corners = item.BoundingBox(level)
    if not text or corners is None:
        return None
    confidence = min(1.0, max(0.0, float(item.Confidence(level)) / 100.0))
    return Element(tidy(text), round(confidence, 4), box_from_corners(*corners), parent)


def tidy(text: str) -> str:
    """Drop form feeds and trailing space; keep one blank line between paragraphs."""
    lines = [line.rstrip() for line in text.replace("\f", "").splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
