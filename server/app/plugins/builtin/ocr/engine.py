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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from app.plugins.base import InvalidInput
from app.plugins.builtin.geometry import Box

#: Operators may raise Tesseract's per-worker thread count with this variable.
THREADS_ENV = "VISOR_OCR_THREADS"
_MAX_CACHED_LANGS = 4


@dataclass(frozen=True)
class RecognisedWord:
    text: str
    confidence: float
    box: Box
    line: int


@dataclass(frozen=True)
class RecognisedLine:
    text: str
    confidence: float
    box: Box


@dataclass(frozen=True)
class Recognition:
    text: str
    confidence: float
    words: list[RecognisedWord]
    lines: list[RecognisedLine]


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

    # -- recognition ------------------------------------------------------------------------

    def read_text(self, image: Image.Image, lang: str, psm: int) -> tuple[str, float]:
        api = self._api(lang)
        with self._locks[lang]:
            api.SetPageSegMode(psm)
            api.SetImage(image)
            try:
                text = api.GetUTF8Text() or ""
                confidence = float(api.MeanTextConf())
            finally:
                api.Clear()
        return _tidy(text), max(0.0, confidence)

    def read_words(self, image: Image.Image, lang: str, psm: int) -> Recognition:
        tess = self._tesserocr
        word_level, line_level = tess.RIL.WORD, tess.RIL.TEXTLINE
        api = self._api(lang)
        words: list[RecognisedWord] = []
        lines: list[RecognisedLine] = []
        with self._locks[lang]:
            api.SetPageSegMode(psm)
            api.SetImage(image)
            try:
                api.Recognize()
                iterator = api.GetIterator()
                if iterator is not None:
                    for item in tess.iterate_level(iterator, word_level):
                        if item.IsAtBeginningOf(line_level):
                            line = _element(item, line_level)
                            if line is not None:
                                text, conf, box = line
                                lines.append(RecognisedLine(text, conf, box))
                        word = _element(item, word_level)
                        if word is not None:
                            text, conf, box = word
                            words.append(RecognisedWord(text, conf, box, max(0, len(lines) - 1)))
            finally:
                api.Clear()
        full = "\n".join(line.text for line in lines)
        mean = sum(w.confidence for w in words) / len(words) if words else 0.0
        return Recognition(full, round(mean, 2), words, lines)


def _element(item: Any, level: Any) -> tuple[str, float, Box] | None:
    try:
        text = (item.GetUTF8Text(level) or "").strip()
    except RuntimeError:  # tesserocr's "No text returned" for an empty element
        return None
    corners = item.BoundingBox(level)
    if not text or corners is None:
        return None
    confidence = round(max(0.0, float(item.Confidence(level))), 2)
    return text, confidence, Box.from_corners(*corners)


def _tidy(text: str) -> str:
    """Drop form feeds and trailing space; keep one blank line between paragraphs."""
    lines = [line.rstrip() for line in text.replace("\f", "").splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
