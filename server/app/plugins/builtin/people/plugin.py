"""``people``: people found by a learned detector (NanoDet's person class, by default), by
OpenCV's HOG pedestrian detector, and their poses (MoveNet MultiPose, 17 keypoints).

Pose is a tool of this plugin rather than a plugin of its own: it answers the same
question ("where are the people?") in the same result shape, with keypoints added, and one
worker pool holds both models (a third pool would cost a process per core for 9 MB).
HOG, the default before, finds upright, whole people only (3 of 71 on an outside set of
real photos, against 59 for NanoDet and 61 for MoveNet). Models ship with Visor (NOTICE).
Accuracy on the repository's photos: docs/plugins.md.
"""

from __future__ import annotations

from app.plugins.base import Plugin, ToolContext, tool
from app.plugins.builtin.detection.base import Detectors, Found
from app.plugins.builtin.detection.nanodet import NanoDet, NanoDetOptions
from app.plugins.builtin.people.hog import Hog, HogOptions
from app.plugins.builtin.people.models import DetectInput, DetectOutput, Person, PoseInput
from app.plugins.builtin.people.movenet import MoveNet, MoveNetOptions
from app.plugins.builtin.pixels import to_rgb
from app.plugins.builtin.scores import logistic
from app.plugins.images import load_image

#: The SVM margin at which a HOG detection counts as even odds (confidence 0.5).
SCORE_MIDPOINT = 1.0
DEFAULT_MIN_SCORE = {"nanodet": 0.4, "hog": 1.0}
NANODET_MODEL, POSE_MODEL = "nanodet-g-416", "movenet-multipose-lightning"
#: MoveNet letterboxes to 256 px itself: a larger copy only costs the resize.
POSE_MAX_SIDE = 1024


class PeoplePlugin(Plugin):
    name = "people"
    version = "2.0.0"
    description = (
        "Detects people: NanoDet's person class (default), OpenCV's HOG pedestrian detector, "
        "or their poses with MoveNet (17 keypoints each). Models ship with Visor; no "
        "download; CPU."
    )
    timeout_s = 30.0

    def __init__(self) -> None:
        self._detectors = Detectors(
            {"nanodet": lambda: NanoDet("people"), "hog": Hog, "pose": MoveNet},
            preload=("nanodet", "pose"),
        )

    def startup(self) -> None:
        self._detectors.start()

    def health_check(self) -> bool:
        return self._detectors.started

    @tool(
        default=True,
        description="Find people in an image; returns their boxes and scores.",
        pixels=True,
    )
    def detect(self, args: DetectInput, ctx: ToolContext) -> DetectOutput:
        rgb = to_rgb(load_image(args))  # EXIF-oriented
        ctx.progress(0.2, "decoded")
        min_score = args.min_score
        if min_score is None:
            min_score = DEFAULT_MIN_SCORE[args.detector]
        options: NanoDetOptions | HogOptions
        if args.detector == "nanodet":
            options = NanoDetOptions(
                threshold=max(0.0, min(1.0, min_score)),
                overlap=args.overlap,
                classes=frozenset({"person"}),
            )
        else:
            options = HogOptions(
                model=args.model,
                upscale=args.upscale,
                scale_factor=args.scale_factor,
                stride=args.stride,
                min_score=min_score,
                overlap=args.overlap,
            )
        found = self._detectors.detect(args.detector, rgb, max_side=args.max_side, options=options)
        hog = args.detector == "hog"
        return DetectOutput(
            people=[_person(f, hog=hog) for f in found],
            count=len(found),
            width=rgb.shape[1],
            height=rgb.shape[0],
            detector=args.detector,
            model=args.model if hog else NANODET_MODEL,
        )

    @tool(
        title="Poses",
        description="Find people and their 17 body keypoints (MoveNet MultiPose, up to six).",
        pixels=True,
    )
    def pose(self, args: PoseInput, ctx: ToolContext) -> DetectOutput:
        rgb = to_rgb(load_image(args))
        ctx.progress(0.2, "decoded")
        options = MoveNetOptions(threshold=args.min_score, overlap=args.overlap)
        found = self._detectors.detect("pose", rgb, max_side=POSE_MAX_SIDE, options=options)
        return DetectOutput(
            people=[_person(f, hog=False) for f in found],
            count=len(found),
            width=rgb.shape[1],
            height=rgb.shape[0],
            detector="movenet",
            model=POSE_MODEL,
        )


def _person(found: Found, *, hog: bool) -> Person:
    confidence = (
        logistic(found.score, midpoint=SCORE_MIDPOINT, scale=0.5)
        if hog
        else round(min(1.0, max(0.0, found.score)), 4)
    )
    return Person(
        box=found.xywh(), confidence=confidence, score=found.score, keypoints=found.keypoints()
    )
