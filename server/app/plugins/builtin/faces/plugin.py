"""``faces``: face detection with learned models (MTCNN by default, BlazeFace for speed) or
OpenCV's Haar cascades, all shipped in the package (no download; see NOTICE).

Accuracy (tests, docs/plugins.md): the face in scikit-image's ``astronaut`` photograph is
found where it is by every detector, and MTCNN finds none on the cat, the coffee cup or the
rocket. Haar cascades, the default before, miss turned or small faces and fire on face-like
texture; on an outside set of 70 faces MTCNN found 69 at its default 30 px minimum (70 at
20 px) where Haar found 64.
"""

from __future__ import annotations

from app.plugins.base import Batching, Plugin, ToolContext, tool
from app.plugins.builtin.detection.base import Detectors, Found
from app.plugins.builtin.faces.blazeface import BlazeFace, BlazeFaceOptions
from app.plugins.builtin.faces.cascades import cascade_dir
from app.plugins.builtin.faces.haar import Haar, HaarOptions
from app.plugins.builtin.faces.models import DetectInput, DetectOutput, Face
from app.plugins.builtin.faces.mtcnn import Mtcnn, MtcnnOptions
from app.plugins.builtin.pixels import to_rgb
from app.plugins.builtin.scores import logistic
from app.plugins.images import load_image

#: The cascade score at which a Haar hit counts as even odds of being a face (confidence 0.5).
SCORE_MIDPOINT = 2.0
#: The network each learned detector runs, reported as the result's ``model``.
NETWORKS = {"mtcnn": "mtcnn", "blazeface": "blazeface-back-256"}
#: Concurrent calls go to a worker together (see objects.plugin.BATCHING).
BATCHING = Batching(max_size=8, max_delay_ms=2.0)


class FacesPlugin(Plugin):
    name = "faces"
    version = "2.0.0"
    description = (
        "Detects faces: MTCNN (default; boxes, scores and five landmarks), BlazeFace (fast) "
        "or OpenCV's Haar cascades, with minimum/maximum face size. Models ship with Visor; "
        "no download; CPU."
    )
    timeout_s = 30.0

    def __init__(self) -> None:
        cascade_dir()  # Haar's files: PluginUnavailable on OpenCV 5, before any worker starts
        self._detectors = Detectors(
            {"mtcnn": Mtcnn, "blazeface": BlazeFace, "haar": Haar}, preload=("mtcnn",)
        )

    def startup(self) -> None:
        self._detectors.start()

    def health_check(self) -> bool:
        return self._detectors.started

    @tool(
        default=True,
        description="Find faces in an image; returns boxes, scores, landmarks.",
        batch=BATCHING,
        pixels=True,
    )
    def detect(self, args: DetectInput, ctx: ToolContext) -> DetectOutput:
        rgb = to_rgb(load_image(args))  # EXIF-oriented
        ctx.progress(0.2, "decoded")
        found = self._detectors.detect(
            args.detector, rgb, max_side=args.max_side, options=_options(args)
        )
        if args.detector != "haar":
            found = [f for f in found if _fits(f, args)]
        faces = [_face(f, args.detector) for f in found]
        return DetectOutput(
            faces=faces,
            count=len(faces),
            width=rgb.shape[1],
            height=rgb.shape[0],
            detector=args.detector,
            model=args.model if args.detector == "haar" else NETWORKS[args.detector],
        )


def _options(args: DetectInput) -> MtcnnOptions | BlazeFaceOptions | HaarOptions:
    if args.detector == "mtcnn":
        return MtcnnOptions(min_size=args.min_size)
    if args.detector == "blazeface":
        return BlazeFaceOptions()
    return HaarOptions(
        model=args.model,
        scale_factor=args.scale_factor,
        min_neighbors=args.min_neighbors,
        min_size=args.min_size,
        max_size=args.max_size,
        min_score=args.min_score,
    )


def _fits(found: Found, args: DetectInput) -> bool:
    """The size and score filters for the learned detectors (Haar applies its own)."""
    if found.score < args.min_score or found.side < args.min_size:
        return False
    return args.max_size is None or found.side <= args.max_size


def _face(found: Found, detector: str) -> Face:
    confidence = (
        logistic(found.score, midpoint=SCORE_MIDPOINT, scale=1.0)
        if detector == "haar"
        else round(min(1.0, max(0.0, found.score)), 4)
    )
    return Face(
        box=found.xywh(), confidence=confidence, score=found.score, keypoints=found.keypoints()
    )
