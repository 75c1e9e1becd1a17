"""``ocr-rapid``: PP-OCR (rapidocr 3 on onnxruntime) for documents, tables and dense text.

An optional extra (``pip install -e "./server[ocr-rapid]"`` from the repository); without
it the plugin is listed UNAVAILABLE with that hint. Only the models inside the rapidocr
wheel are used — the plugin never downloads. Compared with Tesseract (``ocr``) it finds
text in cluttered layouts, tables and photos better and handles rotated lines, at several
times the CPU cost per image; see docs/plugins.md for numbers.
"""

from __future__ import annotations

from app.plugins.base import Plugin, ToolContext, tool
from app.plugins.builtin.geometry import Box
from app.plugins.builtin.pixels import to_bgr
from app.plugins.builtin.rapid_ocr.bundle import bundled_models, require_extra
from app.plugins.builtin.rapid_ocr.engine import RapidEngine
from app.plugins.builtin.rapid_ocr.models import RapidInput, RapidLine, RapidOutput, RapidWord
from app.plugins.images import load_image


class RapidOcrPlugin(Plugin):
    name = "ocr-rapid"
    version = "1.0.0"
    description = (
        "Document OCR with PP-OCR models (rapidocr + onnxruntime): text lines with "
        "polygons, boxes and confidences, optional word boxes. Optional extra ocr-rapid."
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

    @tool(default=True, description="Detect and recognise text lines (and optionally words).")
    def read_text(self, args: RapidInput, ctx: ToolContext) -> RapidOutput:
        bgr = to_bgr(load_image(args))
        ctx.progress(0.1, "decoded")
        found = self._engine.read(
            bgr, min_score=args.min_score, use_cls=args.use_cls, words=args.words
        )
        ctx.progress(0.95, "recognised")
        lines = [
            RapidLine(
                text=line.text,
                confidence=line.confidence,
                box=Box.around(line.polygon),
                polygon=line.polygon,
                words=None
                if line.words is None
                else [
                    RapidWord(text=w.text, confidence=w.confidence, box=w.box) for w in line.words
                ],
            )
            for line in found
        ]
        return RapidOutput(
            text="\n".join(line.text for line in lines),
            lines=lines,
            width=bgr.shape[1],
            height=bgr.shape[0],
        )
