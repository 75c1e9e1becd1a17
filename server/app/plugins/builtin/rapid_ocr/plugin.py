"""``ocr-rapid``: PP-OCR (rapidocr 3 on onnxruntime) for documents, tables and dense text.

An optional extra (``pip install -e "./server[ocr-rapid]"`` from the repository); without
it the plugin is listed UNAVAILABLE with that hint. Only the models inside the rapidocr
wheel are used — the plugin never downloads. Compared with Tesseract (``ocr``) it finds
text in cluttered layouts, tables and photos better and handles rotated lines, at several
times the CPU cost per image; see docs/plugins.md for numbers.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from app.plugins.base import Plugin, ToolContext, tool
from app.plugins.builtin.orient import unturn_box, unturn_point
from app.plugins.builtin.pixels import to_bgr
from app.plugins.builtin.rapid_ocr.bundle import bundled_models, require_extra
from app.plugins.builtin.rapid_ocr.engine import (
    DETECTION_MAX_SIDE,
    PREPROCESS_MAX_SIDE,
    RapidEngine,
    RapidLineResult,
)
from app.plugins.builtin.rapid_ocr.models import RapidInput, RapidOutput
from app.plugins.builtin.reading_order import reading_order
from app.plugins.builtin.text_result import Level, TextWord
from app.plugins.images import load_image
from app.plugins.vocabulary import TextRegion, box_around

#: Mean line confidence below which ``rotate=auto`` also reads the page turned.
RETRY_BELOW = 0.85


def detection_side(width: int, height: int) -> int:
    """Half the longest side, within [960, 2000]: small text on big scans stays readable.

    A fixed 960 px shrinks a 3600x4800 scan fivefold and its 40 px text below what the
    detector sees; half size keeps ordinary print above ~15 px at ~4x the detection cost
    of 960 px, spent only on images that large.
    """
    return min(max(DETECTION_MAX_SIDE, max(width, height) // 2), PREPROCESS_MAX_SIDE)


class RapidOcrPlugin(Plugin):
    name = "ocr-rapid"
    version = "2.0.0"
    description = (
        "Document OCR with PP-OCR models (rapidocr + onnxruntime): text lines (or words) "
        "with polygons, boxes and confidences. Optional extra ocr-rapid."
    )
    timeout_s = 120.0

    @classmethod
    def check_requirements(cls) -> None:
        require_extra()  # PluginUnavailable naming the extra; the loader lists the reason

    def __init__(self) -> None:
        require_extra()
        self._engine = RapidEngine(bundled_models())

    def startup(self) -> None:
        self._engine.start()

    def health_check(self) -> bool:
        return self._engine.started

    @tool(
        default=True,
        title="Read text in photos (RapidOCR)",
        description="Detect and recognise text lines (or words), in reading order, with boxes. "
        "Best for photos, screenshots, signs and tilted text; for clean scanned pages "
        "ocr.read_text is faster.",
        pixels=True,
    )
    def read_text(self, args: RapidInput, ctx: ToolContext) -> RapidOutput:
        bgr = to_bgr(load_image(args))  # EXIF-oriented, transparency flattened on white
        ctx.progress(0.1, "decoded")
        height, width = bgr.shape[:2]
        found, turned = self._read_upright(bgr, args, ctx)
        if args.order == "columns":
            boxes = [box_around(line.polygon) for line in found]
            found = [found[i] for i in reading_order(boxes)]
        found = [_unturn(line, turned, (width, height)) for line in found]
        ctx.progress(0.95, "recognised")
        return _output(found, args, turned, width=width, height=height)

    def _read_upright(
        self, bgr: np.ndarray, args: RapidInput, ctx: ToolContext
    ) -> tuple[list[RapidLineResult], int]:
        """Lines read on the page turned upright, and the clockwise turn that took.

        Like ``ocr``, upright pages are read once. A page whose lines stand upright (it lies
        on its side) is read again turned by 270 or 90 degrees; one whose lines come back
        with a low mean confidence, turned by 180; the most confident upright reading wins.
        """

        def read(degrees: int) -> list[RapidLineResult]:
            image = np.ascontiguousarray(np.rot90(bgr, k=-(degrees // 90)))
            height, width = image.shape[:2]
            return self._engine.read(
                image,
                min_score=args.min_confidence,
                use_cls=args.use_cls,
                words=args.level == "words",
                detection_side=args.detection_size or detection_side(width, height),
            )

        if args.rotate != "auto":
            return read(int(args.rotate)), int(args.rotate)
        best, turned = read(0), 0
        sideways = _sideways(best)
        if not best or (_mean(best) >= RETRY_BELOW and not sideways):
            return best, turned
        candidates: tuple[int, ...]
        if sideways:  # a confident sideways reading means rapidocr's line turn was right
            candidates = (270, 90) if _mean(best) >= RETRY_BELOW else (90, 270)
        else:
            candidates = (180,)
        for degrees in candidates:
            ctx.progress(0.5, f"trying the page turned by {degrees} degrees")
            found = read(degrees)
            if _score(found) > _score(best):
                best, turned = found, degrees
            if _score(best) >= RETRY_BELOW:
                break
        return best, turned


def _score(lines: list[RapidLineResult]) -> float:
    """Mean confidence, less a penalty for a page still lying on its side."""
    return _mean(lines) - (0.5 if _sideways(lines) else 0.0)


def _mean(lines: list[RapidLineResult]) -> float:
    return sum(line.confidence for line in lines) / len(lines) if lines else 0.0


def _sideways(lines: list[RapidLineResult]) -> bool:
    """Most lines are taller than wide: the page lies on its side."""
    upright = 0
    for line in lines:
        _, _, w, h = box_around(line.polygon)
        upright += h > 1.5 * w
    return upright > len(lines) / 2


def _unturn(line: RapidLineResult, degrees: int, size: tuple[int, int]) -> RapidLineResult:
    if not degrees:
        return line
    words = None
    if line.words is not None:
        words = [replace(w, box=unturn_box(w.box, degrees, size)) for w in line.words]
    polygon = [unturn_point(p, degrees, size) for p in line.polygon]
    return replace(line, polygon=polygon, words=words)


def _output(
    found: list[RapidLineResult], args: RapidInput, turned: int, width: int, height: int
) -> RapidOutput:
    level = Level(args.level)
    limit = args.max_items
    lines = [
        TextRegion(
            text=line.text,
            confidence=line.confidence,
            box=box_around(line.polygon),
            polygon=line.polygon,
        )
        for line in found
    ]
    words: list[TextWord] = []
    if level is Level.WORDS:
        every = [
            TextWord(text=w.text, confidence=w.confidence, box=w.box, line=index)
            for index, line in enumerate(found)
            for w in line.words or []
        ]
        total = len(every)
        words = every[:limit]
        used = sorted({w.line for w in words})
        renumber = {old: new for new, old in enumerate(used)}
        lines = [lines[i] for i in used]
        words = [w.model_copy(update={"line": renumber[w.line]}) for w in words]
    else:
        total = len(lines)
        lines = lines[:limit]
    confidences = [line.confidence for line in found]
    return RapidOutput(
        text="\n".join(line.text for line in found),
        confidence=round(sum(confidences) / len(confidences), 4) if confidences else 0.0,
        level=level,
        lines=lines,
        words=words,
        truncated=total > limit,
        total_items=total,
        orientation=turned,
        width=width,
        height=height,
    )
