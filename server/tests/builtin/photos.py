"""Real photos with hand-drawn boxes, for the detector tests and ``bench/accuracy.py``.

People: frames of OpenCV's ``vtest.avi`` sample (a campus walkway filmed from above, the
clip OpenCV's own pedestrian-detection sample uses) and its ``basketball1.png``, shipped in
``data/people`` (see ``data/people/SOURCE.md``). Boxes were drawn by eye on 3x zoomed crops,
head to feet (arms included), for every person whose body is in the frame from head to
ankles; people cut off at the waist are not counted. Photos without people: scikit-image's
``coffee``, ``chelsea`` (a cat) and ``rocket``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

DATA = Path(__file__).resolve().parent / "data"

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Photo:
    name: str
    image: Image.Image
    boxes: list[Box]  # every object of interest, [x, y, w, h]


PEOPLE_BOXES: dict[str, list[Box]] = {
    "vtest-frame0.jpg": [(254, 220, 29, 87), (501, 158, 28, 74), (639, 241, 45, 80)],
    "vtest-frame600.jpg": [
        (190, 144, 25, 69),
        (570, 200, 27, 87),
        (670, 209, 35, 88),
        (456, 302, 49, 115),
        (642, 305, 28, 105),
        (284, 432, 46, 144),
    ],
    "basketball1.png": [(37, 83, 121, 395)],
}


def people_photos() -> list[Photo]:
    return [
        Photo(name, Image.open(DATA / "people" / name).convert("RGB"), boxes)
        for name, boxes in PEOPLE_BOXES.items()
    ]


def photos_without_people() -> list[Photo]:
    from skimage import data

    return [
        Photo(name, Image.fromarray(getattr(data, name)()).convert("RGB"), [])
        for name in ("coffee", "chelsea", "rocket")
    ]


def iou(a: Box, b: Box) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union else 0.0


def match(expected: list[Box], found: list[Box], threshold: float = 0.5) -> tuple[int, int]:
    """(true positives, false positives): greedy one-to-one matching at IoU >= threshold."""
    unused = list(expected)
    hits = 0
    for box in found:
        best = max(unused, key=lambda e: iou(e, box), default=None)
        if best is not None and iou(best, box) >= threshold:
            unused.remove(best)
            hits += 1
    return hits, len(found) - hits
