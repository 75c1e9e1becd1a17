"""``objects``: the 80 COCO object classes with NanoDet-g 416 (shipped; see NOTICE).

A small one-stage detector (7.6 MB of float16 weights, ~30 ms a photo on one core): people,
vehicles, animals, furniture, tableware... Its ``person`` class backs ``people.detect``.
Accuracy on the repository's photos: docs/plugins.md.
"""

from __future__ import annotations

from app.plugins.base import Batching, Plugin, ToolContext, tool
from app.plugins.builtin.detection.base import Detectors
from app.plugins.builtin.detection.nanodet import SIZE, NanoDet, NanoDetOptions
from app.plugins.builtin.objects.models import DetectedObject, DetectInput, DetectOutput
from app.plugins.builtin.pixels import to_rgb
from app.plugins.images import load_image

MODEL = "nanodet-g-416"
#: Concurrent calls go to a worker together (one frame there and back for the batch; the
#: worker runs them one after another with no pipe hop or idle gap between them).
BATCHING = Batching(max_size=8, max_delay_ms=2.0)


class ObjectsPlugin(Plugin):
    name = "objects"
    version = "1.0.0"
    description = (
        "Detects objects of the 80 COCO classes (person, car, dog, cup, ...) with NanoDet: "
        "labelled boxes and scores, optionally only some classes. Model ships with Visor; "
        "no download; CPU."
    )
    timeout_s = 30.0

    def __init__(self) -> None:
        self._detectors = Detectors({"nanodet": NanoDet}, preload=("nanodet",))

    def startup(self) -> None:
        self._detectors.start()

    def health_check(self) -> bool:
        return self._detectors.started

    @tool(
        default=True,
        description="Find objects (80 COCO classes); returns labelled boxes.",
        batch=BATCHING,
        pixels=True,
    )
    def detect(self, args: DetectInput, ctx: ToolContext) -> DetectOutput:
        rgb = to_rgb(load_image(args))  # EXIF-oriented
        ctx.progress(0.2, "decoded")
        options = NanoDetOptions(
            threshold=args.min_score,
            overlap=args.overlap,
            max_detections=args.max_objects,
            classes=frozenset(args.classes) if args.classes else None,
        )
        found = self._detectors.detect("nanodet", rgb, max_side=SIZE, options=options)
        objects = [
            DetectedObject(box=f.xywh(), confidence=f.score, label=f.label or "") for f in found
        ]
        return DetectOutput(
            objects=objects,
            count=len(objects),
            width=rgb.shape[1],
            height=rgb.shape[0],
            model=MODEL,
        )
