"""NanoDet-g 416: a one-stage detector of the 80 COCO classes (RangiLyu's NanoDet, GFL head).

The image is letterboxed into 416x416 (aspect kept, black bars), in BGR order, normalised
with NanoDet's ImageNet mean and deviation, NCHW. Letterboxing rather than stretching: on
the repository's photos it found the basketball player a stretch missed and no person on
the cat (a stretch reported one at 0.59), at the same speed. For each stride (8, 16, 32)
the network gives sigmoid class scores and, per side, 11 distance bins;
:mod:`app.inference.decoders.nanodet` turns them into boxes (softmax expectation x stride
from the cell centres), and per-class NMS keeps one box per object. Boxes are mapped back
from the letterboxed input to the image's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.inference.decoders import NanoDetParams, Postprocess
from app.inference.decoders.nanodet import decode
from app.inference.geometry import letterbox
from app.inference.tensor import ColorOrder, Layout, to_tensor
from app.plugins.builtin.detection.base import Backend, Found
from app.plugins.builtin.detection.coco_labels import COCO_LABELS
from app.plugins.builtin.detection.sessions import open_model

#: Shipped in the ``objects`` plugin's folder (package data there). The backend lives here,
#: not in ``objects``, so that ``people`` can use it without importing another plugin's
#: package (whose ``__init__`` imports that plugin: two loader threads then deadlocked on
#: the import locks).
WEIGHTS = Path(__file__).resolve().parents[1] / "objects" / "weights" / "nanodet-g-416.onnx"
SIZE = 416
PARAMS = NanoDetParams(strides=[8, 16, 32], bins=11, center_offset=0.5, class_activation="none")
MEAN = (103.53, 116.28, 123.675)  # B, G, R
STD = (57.375, 57.12, 58.395)


#: Reported unreliable after the TF.js conversion (it calls clocks and cups toilets, as the
#: tests' photos show): left out unless a caller asks for it by name.
UNRELIABLE = frozenset({"toilet"})


@dataclass(frozen=True)
class NanoDetOptions:
    threshold: float = 0.4
    overlap: float = 0.5
    max_detections: int = 100
    classes: frozenset[str] | None = None  # keep only these labels; None: all


class NanoDet(Backend):
    def __init__(self, plugin: str = "objects") -> None:
        self._plugin = plugin
        self._session: Any = None

    def load(self) -> None:
        self._session = open_model(WEIGHTS, plugin=self._plugin)
        self._input = self._session.get_inputs()[0].name

    def detect(self, rgb: np.ndarray, options: NanoDetOptions, scale: float = 1.0) -> list[Found]:
        fitted, geometry = letterbox(rgb, (SIZE, SIZE), pad_value=0)
        tensor = to_tensor(
            fitted, layout=Layout.NCHW, color=ColorOrder.BGR, scale=1.0, mean=MEAN, std=STD
        )
        outputs = self._session.run(None, {self._input: tensor})
        labels = COCO_LABELS
        classes = options.classes or frozenset(labels) - UNRELIABLE
        # Classes not asked for are zeroed: they can neither be found nor suppress others.
        wanted = np.array([label in classes for label in labels])
        outputs = [np.where(wanted, o, 0.0) if o.shape[-1] == len(labels) else o for o in outputs]
        post = Postprocess(
            score_threshold=options.threshold,
            iou=options.overlap,
            max_detections=options.max_detections,
            class_agnostic=False,
        )
        found = []
        for d in decode(outputs, PARAMS, post, labels, (SIZE, SIZE)):
            box = geometry.boxes_to_image(np.asarray([d.box]))[0]
            found.append(
                Found(
                    box=(float(box[0]), float(box[1]), float(box[2]), float(box[3])),
                    score=round(float(d.confidence), 4),
                    label=d.label,
                )
            )
        return found
