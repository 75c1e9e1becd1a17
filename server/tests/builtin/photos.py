"""Real photos with hand-drawn boxes, for the detector tests and ``bench/accuracy.py``.

People: frames of OpenCV's ``vtest.avi`` sample (a campus walkway filmed from above, the
clip OpenCV's own pedestrian-detection sample uses) and its ``basketball1.png``, shipped in
``data/people`` (see ``data/people/SOURCE.md``). Boxes were drawn by eye on 3x zoomed crops,
head to feet (arms included), for every person whose body is in the frame from head to
ankles; people cut off at the waist are not counted. Photos without people: scikit-image's
``coffee``, ``chelsea`` (a cat) and ``rocket``.

Faces (eyebrows to chin, cheek to cheek, by eye) and COCO objects on scikit-image's photos
and ``basketball1.png``, for ``bench/accuracy.py``: every face or object of those kinds in
the photo is marked, so an unmatched detection is a false hit.
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


#: Faces, [x, y, w, h]: Eileen Collins (astronaut), the cameraman (camera, three-quarter
#: view), the player on the left of basketball1.png (the man on the right faces away).
FACE_BOXES: dict[str, list[Box]] = {
    "astronaut": [(178, 75, 92, 105)],
    "camera": [(182, 115, 73, 78)],
    "basketball1.png": [(70, 95, 34, 38)],
}

#: COCO objects, (label, [x, y, w, h]), whole objects including what is cut off by nothing.
OBJECT_BOXES: dict[str, list[tuple[str, Box]]] = {
    "astronaut": [("person", (20, 20, 340, 492))],
    "camera": [("person", (10, 65, 310, 447))],
    "stereo_motorcycle": [("motorcycle", (94, 72, 588, 381))],
    "horse": [("horse", (16, 9, 372, 302))],
    "coffee": [("cup", (172, 17, 239, 261))],
    "chelsea": [("cat", (0, 0, 451, 300))],
}


def skimage_photo(name: str) -> Image.Image:
    """A scikit-image sample photo as RGB (the motorcycle: the left view of the pair)."""
    import numpy as np
    from skimage import data

    image = getattr(data, name)()
    if isinstance(image, tuple):
        image = image[0]
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    return Image.fromarray(image).convert("RGB")


def face_photos() -> list[Photo]:
    basketball = Image.open(DATA / "people" / "basketball1.png").convert("RGB")
    return [
        Photo(name, basketball if name.endswith(".png") else skimage_photo(name), boxes)
        for name, boxes in FACE_BOXES.items()
    ]


def object_photos() -> list[tuple[Photo, list[str]]]:
    """Photos with their objects' boxes and, beside, each box's label."""
    return [
        (Photo(name, skimage_photo(name), [b for _, b in marked]), [label for label, _ in marked])
        for name, marked in OBJECT_BOXES.items()
    ]
