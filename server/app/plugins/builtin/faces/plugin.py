"""``faces``: face detection with the Haar cascades bundled in opencv-python-headless 4.x.

Accuracy (tests): the face in scikit-image's ``astronaut`` photograph is found with an
IoU of about 0.7 against a hand-drawn box, and plain shapes give no faces. Haar cascades
are a classic, light detector: good on frontal, well-lit faces of 30 px and more; they
miss strongly turned, occluded or tiny faces and can fire on face-like texture. Speed:
~70 ms for a 512x512 photo on one core; see docs/plugins.md.
"""

from __future__ import annotations

from app.plugins.base import Plugin, ToolContext, tool
from app.plugins.builtin.faces.cascades import cascade_dir
from app.plugins.builtin.faces.detector import FaceDetector
from app.plugins.builtin.faces.models import DetectInput, DetectOutput, Face
from app.plugins.builtin.pixels import to_gray
from app.plugins.builtin.scores import logistic
from app.plugins.images import load_image

#: The cascade score at which a hit counts as even odds of being a face (confidence 0.5).
SCORE_MIDPOINT = 2.0


class FacesPlugin(Plugin):
    name = "faces"
    version = "1.0.0"
    description = (
        "Detects faces with OpenCV's Haar cascades (frontal or profile): boxes and scores, "
        "with minimum/maximum face size and scale-step options. No download; CPU only."
    )
    timeout_s = 30.0

    def __init__(self) -> None:
        self._detector = FaceDetector(cascade_dir())  # raises PluginUnavailable on OpenCV 5

    def startup(self) -> None:
        self._detector.start()

    def health_check(self) -> bool:
        return self._detector.started

    @tool(default=True, description="Find faces in an image; returns their boxes and scores.")
    def detect(self, args: DetectInput, ctx: ToolContext) -> DetectOutput:
        gray = to_gray(load_image(args))
        ctx.progress(0.2, "decoded")
        found = self._detector.detect(
            gray,
            model=args.model,
            scale_factor=args.scale_factor,
            min_neighbors=args.min_neighbors,
            min_size=args.min_size,
            max_size=args.max_size,
            max_side=args.max_side,
            min_score=args.min_score,
        )
        faces = [
            Face(
                box=(d.x, d.y, d.width, d.height),
                confidence=logistic(d.score, midpoint=SCORE_MIDPOINT, scale=1.0),
                score=d.score,
            )
            for d in found
        ]
        return DetectOutput(
            faces=faces,
            count=len(faces),
            width=gray.shape[1],
            height=gray.shape[0],
            model=args.model,
        )
