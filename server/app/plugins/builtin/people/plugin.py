"""``people``: pedestrian detection with OpenCV's HOG detector; no model file, no download.

HOG + linear SVM is a classic, light detector for upright, mostly unoccluded people seen
from the front, back or side; it misses sitting, crouching, cropped and heavily occluded
people and can fire on upright clutter (poles, trees). Accuracy on real photos:
docs/plugins.md.
"""

from __future__ import annotations

from app.plugins.base import Plugin, ToolContext, tool
from app.plugins.builtin.people.detector import PeopleDetector
from app.plugins.builtin.people.models import DetectInput, DetectOutput, Person
from app.plugins.builtin.pixels import to_gray
from app.plugins.builtin.scores import logistic
from app.plugins.images import load_image

#: The SVM margin at which a detection counts as even odds (confidence 0.5).
SCORE_MIDPOINT = 1.0


class PeoplePlugin(Plugin):
    name = "people"
    version = "1.0.0"
    description = (
        "Detects standing or walking people with OpenCV's built-in HOG pedestrian detector: "
        "boxes and scores after non-maximum suppression. No download; CPU only."
    )
    timeout_s = 30.0

    def __init__(self) -> None:
        self._detector = PeopleDetector()

    def startup(self) -> None:
        self._detector.start()

    def health_check(self) -> bool:
        return self._detector.started

    @tool(default=True, description="Find people in an image; returns their boxes and scores.")
    def detect(self, args: DetectInput, ctx: ToolContext) -> DetectOutput:
        gray = to_gray(load_image(args))  # EXIF-oriented
        ctx.progress(0.2, "decoded")
        found = self._detector.detect(
            gray,
            model=args.model,
            max_side=args.max_side,
            upscale=args.upscale,
            scale_factor=args.scale_factor,
            stride=args.stride,
            min_score=args.min_score,
            overlap=args.overlap,
        )
        people = [
            Person(
                box=p.box,
                confidence=logistic(p.score, midpoint=SCORE_MIDPOINT, scale=0.5),
                score=p.score,
            )
            for p in found
        ]
        return DetectOutput(
            people=people,
            count=len(people),
            width=gray.shape[1],
            height=gray.shape[0],
            model=args.model,
        )
