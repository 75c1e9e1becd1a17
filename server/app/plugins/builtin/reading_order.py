"""Reading order for text lines found one by one (PP-OCR detects lines, not a layout).

rapidocr sorts lines top to bottom. On a page with columns that interleaves them — line 1
of the left column, line 1 of the right column, line 2 of the left… — so every word is
there and the text is nonsense. This module recovers the order a person reads in:

1. Lines much wider than a column (titles, full-width paragraphs) cut the page into
   horizontal *bands*, read top to bottom.
2. Inside a band, the other lines' horizontal extents are merged; gaps no line crosses
   (gutters at least a line-height wide) split the band into columns, read left to right.
3. Inside a column, lines keep the engine's top-to-bottom order.

A page without gutters (a letter, a form) keeps the engine's order unchanged.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

Box = tuple[int, int, int, int]

#: A line at least this share of the text's full width spans columns (a title).
WIDE = 0.6


def reading_order(boxes: Sequence[Box]) -> list[int]:
    """Indices of ``boxes`` ([x, y, w, h], in the engine's order) in reading order."""
    if len(boxes) < 3:
        return list(range(len(boxes)))
    left = min(b[0] for b in boxes)
    right = max(b[0] + b[2] for b in boxes)
    span = max(1, right - left)
    gutter = statistics.median(b[3] for b in boxes)
    order: list[int] = []
    band: list[int] = []
    for index in sorted(range(len(boxes)), key=lambda i: (_middle(boxes[i]), i)):
        if boxes[index][2] >= WIDE * span:
            order += _columns(band, boxes, gutter)
            order.append(index)
            band = []
        else:
            band.append(index)
    return order + _columns(band, boxes, gutter)


def _middle(box: Box) -> float:
    return box[1] + box[3] / 2


def _columns(band: list[int], boxes: Sequence[Box], gutter: float) -> list[int]:
    """The band's lines column by column, each column in the engine's order."""
    if not band:
        return []
    spans: list[list[float]] = []  # merged [left, right] extents, left to right
    for index in sorted(band, key=lambda i: boxes[i][0]):
        x, _, w, _ = boxes[index]
        if spans and x < spans[-1][1] + gutter:
            spans[-1][1] = max(spans[-1][1], x + w)
        else:
            spans.append([x, x + w])
    if len(spans) < 2:
        return sorted(band)
    columns: list[list[int]] = [[] for _ in spans]
    for index in band:
        centre = boxes[index][0] + boxes[index][2] / 2
        column = next(
            (c for c, (lo, hi) in enumerate(spans) if lo <= centre <= hi),
            min(range(len(spans)), key=lambda c: abs(centre - sum(spans[c]) / 2)),
        )
        columns[column].append(index)
    return [index for column in columns for index in sorted(column)]
