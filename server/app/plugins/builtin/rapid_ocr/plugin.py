"""``ocr-rapid``: PP-OCR (rapidocr 3 on onnxruntime) for documents, tables and dense text.

An optional extra (``pip install -e "./server[ocr-rapid]"`` from the repository); without
it the plugin is listed UNAVAILABLE with that hint. Only the models inside the rapidocr
wheel are used — the plugin never downloads. Compared with Tesseract (``ocr``) it finds
text in cluttered layouts, tables and photos better and handles rotated lines, at several
times the CPU cost per image; see docs/plugins.md for numbers.
"""

from __future__ import annotations

from app.plugins.base import Plugin, ToolContext, tool
from app.plugins.builtin.pixels import to_bgr
from app.plugins.builtin.rapid_ocr.bundle import bundled_models, require_extra
from app.plugins.builtin.rapid_ocr.engine import RapidEngine, RapidLineResult
from app.plugins.builtin.rapid_ocr.models import RapidInput, RapidOutput
from app.plugins.builtin.text_result import Level, TextWord
from app.plugins.images import load_image
from app.plugins.vocabulary import TextRegion, box_around


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

    @tool(default=True, description="Detect and recognise text lines (or words), in reading order.")
    def read_text(self, args: RapidInput, ctx: ToolContext) -> RapidOutput:
        bgr = to_bgr(load_image(args))  # EXIF-oriented, transparency flattened on white
        ctx.progress(0.1, "decoded")
        found = self._engine.read(
            bgr,
            min_score=args.min_confidence,
            use_cls=args.use_cls,
            words=args.level == "words",
        )
        ctx.progress(0.95, "recognised")
        return _output(found, args, width=bgr.shape[1], height=bgr.shape[0])


def _output(found: list[RapidLineResult], args: RapidInput, width: int, height: int) -> RapidOutput:
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
        width=width,
        height=height,
    )
