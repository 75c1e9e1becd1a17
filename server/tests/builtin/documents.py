"""Document pages with known text, for the OCR tests and ``bench/accuracy.py``.

Real pages: Tesseract's ``phototest`` scan (shipped in ``data/ocr``, turned both ways; see
``data/ocr/SOURCE.md``) and scikit-image's ``page()``, an unevenly lit photograph of a book
page (transcribed below). Generated pages: text drawn with the TrueType font bundled in
Pillow, then laid out in columns, turned, shaded or photographed at an angle with the
same operations a camera or scanner applies. Everything is deterministic (fixed seeds).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

DATA = Path(__file__).resolve().parent / "data"

#: scikit-image's ``data.page()``, transcribed by hand (the cut-off last line left out).
SKIMAGE_PAGE_TEXT = """Region-based segmentation
Let us first determine markers of the coins and the
background. These markers are pixels that we can label
unambiguously as either object or background. Here,
the markers are found at the two extreme parts of the
histogram of grey values:
>>> markers = np.zeros_like(coins)"""

#: Original prose for the generated pages (no copyrighted text), one paragraph per item.
PARAGRAPHS = (
    "Every morning the harbour office posts the tide tables beside the ferry timetable. "
    "Fishermen check both before they untie their boats, because the channel near the "
    "lighthouse is shallow at low water and the sandbanks move after every storm.",
    "The library on Mill Street lends tools as well as books. A drill, a ladder or a "
    "sewing machine can be borrowed for a week with the same card, and the waiting list "
    "for the pressure washer is longer than the one for any novel.",
    "Our survey counted forty two species of birds in the park during April. Most were "
    "common residents, but a pair of kingfishers nested under the old stone bridge for "
    "the first time in eleven years, which delighted the volunteers.",
    "Invoice 7315 covers three crates of ceramic tiles, two rolls of insulation and the "
    "delivery charge. Payment is due within thirty days; please quote the invoice number "
    "on every transfer so that the accounts team can match it quickly.",
    "The workshop starts at nine with a short safety briefing. Participants build a small "
    "wooden stool during the day and take it home in the evening, together with a printed "
    "guide that explains every joint and every cut in detail.",
    "When the river froze in January the town council opened the rink on the meadow. "
    "Skates could be hired at the kiosk, hot chocolate was sold by the scouts, and the "
    "brass band played on Saturday afternoons until the thaw arrived.",
)


@dataclass(frozen=True)
class Document:
    """One page to read and the text a perfect reader returns, in reading order."""

    name: str
    kind: str  # what the page tests: upright, rotated, uneven, columns, photo, large
    source: str  # "real" (a scan or photo) or "generated"
    image: Image.Image
    text: str


# -- text metrics -------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Lower case, unified quotes and dashes, single spaces: what the metrics compare."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[\u2018\u2019\u201a\u201b`]", "'", text)
    text = re.sub(r"[\u201c\u201d\u201e\u201f]", '"', text)
    text = re.sub(r"[\u2010-\u2015]", "-", text)
    return " ".join(text.split())


def words(text: str) -> list[str]:
    return [w for w in re.sub(r"[^a-z0-9 ]", " ", normalise(text)).split() if w]


def word_recall(expected: str, found: str) -> float:
    """Share of the expected words (as a multiset) that were read."""
    pool: dict[str, int] = {}
    for word in words(found):
        pool[word] = pool.get(word, 0) + 1
    wanted = words(expected)
    hits = 0
    for word in wanted:
        if pool.get(word, 0) > 0:
            pool[word] -= 1
            hits += 1
    return hits / len(wanted) if wanted else 1.0


def cer(expected: str, found: str) -> float:
    """Character error rate: edit distance / expected length, on normalised text.

    Order matters: text read in the wrong column order scores badly even when every word
    is there, which is the point.
    """
    a, b = normalise(expected), normalise(found)
    if not a:
        return float(bool(b))
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
        previous = current
    return previous[-1] / len(a)


# -- rendering ----------------------------------------------------------------------------


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if probe.textlength(trial, font=font) <= width or not current:
            current = trial
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def render_page(
    columns: list[list[str]],
    *,
    size: int = 22,
    column_width: int = 520,
    gutter: int = 60,
    margin: int = 60,
    title: str | None = None,
) -> tuple[Image.Image, str]:
    """Paragraphs laid out in columns (optionally under a full-width title).

    Returns the page and its text in reading order: title, then column by column.
    """
    font = _font(size)
    line_height = int(size * 1.45)
    wrapped = [[_wrap(p, font, column_width) for p in column] for column in columns]
    heights = [sum(len(p) * line_height + line_height for p in col) for col in wrapped]
    top = margin + (int(size * 2.6) if title else 0)
    width = 2 * margin + len(columns) * column_width + (len(columns) - 1) * gutter
    height = top + max(heights) + margin
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    reading: list[str] = []
    if title:
        draw.text((margin, margin), title, font=_font(int(size * 1.6)), fill=0)
        reading.append(title)
    for index, column in enumerate(wrapped):
        x = margin + index * (column_width + gutter)
        y = top
        for paragraph in column:
            for line in paragraph:
                draw.text((x, y), line, font=font, fill=0)
                reading.append(line)
                y += line_height
            y += line_height
    return page, "\n".join(reading)


def shade(page: Image.Image, *, low: float = 0.25, seed: int = 3) -> Image.Image:
    """Uneven lighting: a dark corner falling off to a bright centre, plus sensor noise."""
    gray = np.asarray(page.convert("L"), dtype=np.float32)
    height, width = gray.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 1.0 - (1.0 - low) * np.clip((xs / width + ys / height) / 1.4, 0, 1) ** 1.5
    spot = np.exp(-(((xs - 0.3 * width) ** 2) + (ys - 0.35 * height) ** 2) / (0.2 * width**2))
    light = np.clip(light * (0.85 + 0.25 * spot), 0, 1)
    paper = 235.0 * light
    ink = 30.0 * light
    out = paper * (gray / 255.0) + ink * (1 - gray / 255.0)
    out += np.random.default_rng(seed).normal(0, 4, out.shape)
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


def photograph(page: Image.Image, *, tilt: float = 0.06, seed: int = 5) -> Image.Image:
    """The page as a phone photographs it: perspective, slight blur, shading, JPEG noise."""
    width, height = page.size
    dx, dy = tilt * width, tilt * height
    # Output pixel (x, y) samples the page at a projective map of these corners.
    quad = (dx, dy * 0.6, 0, height, width, height - dy * 0.3, width - dx * 0.7, 0)
    warped = page.convert("L").transform(
        page.size, Image.Transform.QUAD, quad, Image.Resampling.BICUBIC, fillcolor=200
    )
    warped = warped.filter(ImageFilter.GaussianBlur(0.8))
    return shade(warped, low=0.45, seed=seed)


def turn(image: Image.Image, degrees: int) -> Image.Image:
    """Turned clockwise by a multiple of 90 degrees."""
    ops = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180}
    ops[270] = Image.Transpose.ROTATE_90
    return image if degrees % 360 == 0 else image.transpose(ops[degrees % 360])


# -- the corpus ---------------------------------------------------------------------------


def phototest_upright() -> Image.Image:
    """Tesseract's phototest scan, upright (the shipped file is turned right by 90°)."""
    return turn(Image.open(DATA / "ocr" / "phototest-rotated-R.png").convert("L"), 270)


def phototest_text() -> str:
    return (DATA / "ocr" / "phototest.gt.txt").read_text(encoding="utf-8").strip()


def skimage_page() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.page())


def _two_columns() -> tuple[Image.Image, str]:
    return render_page(
        [list(PARAGRAPHS[:3]), list(PARAGRAPHS[3:])], title="Town notes for the spring"
    )


def _three_columns() -> tuple[Image.Image, str]:
    return render_page(
        [[PARAGRAPHS[0], PARAGRAPHS[5]], [PARAGRAPHS[1], PARAGRAPHS[3]], [PARAGRAPHS[2]]],
        size=18,
        column_width=360,
        gutter=40,
        title="Harbour weekly",
    )


def corpus(*, with_large: bool = False) -> list[Document]:
    """Every page the OCR accuracy table and tests use, real ones first."""
    photo = phototest_upright()
    photo_text = phototest_text()
    two, two_text = _two_columns()
    three, three_text = _three_columns()
    single, single_text = render_page([[PARAGRAPHS[1], PARAGRAPHS[4]]], column_width=900)
    docs = [
        Document("phototest", "upright", "real", photo, photo_text),
        Document(
            "phototest-rotated-L",
            "rotated",
            "real",
            Image.open(DATA / "ocr" / "phototest-rotated-L.png").convert("L"),
            photo_text,
        ),
        Document(
            "phototest-rotated-R",
            "rotated",
            "real",
            Image.open(DATA / "ocr" / "phototest-rotated-R.png").convert("L"),
            photo_text,
        ),
        Document("phototest-upside-down", "rotated", "real", turn(photo, 180), photo_text),
        Document("skimage-page", "uneven", "real", skimage_page(), SKIMAGE_PAGE_TEXT),
        Document("letter", "upright", "generated", single, single_text),
        Document("two-columns", "columns", "generated", two, two_text),
        Document("three-columns", "columns", "generated", three, three_text),
        Document("shaded-letter", "uneven", "generated", shade(single), single_text),
        Document("shaded-columns", "uneven", "generated", shade(two, low=0.3), two_text),
        Document("photographed-letter", "photo", "generated", photograph(single), single_text),
        Document("letter-turned-270", "rotated", "generated", turn(single, 270), single_text),
    ]
    if with_large:
        big, big_text = render_page(
            [list(PARAGRAPHS[:3]), list(PARAGRAPHS[3:])],
            size=64,
            column_width=1600,
            gutter=160,
            margin=120,
        )
        docs.append(Document("large-page", "large", "generated", big, big_text))
    return docs


Reader = Callable[[Image.Image], str]
