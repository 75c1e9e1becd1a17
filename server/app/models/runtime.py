"""One loaded model version: pixels in, decoded results in original-image pixels out.

Used by the worker processes that serve a model and by the registration check, so the
smoke inference exercises exactly what calls will run.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from app.inference.decoders import Classification, Detection, Postprocess, decode
from app.inference.errors import ModelMismatch
from app.inference.geometry import Geometry, fit
from app.inference.session import open_session
from app.inference.tensor import Layout, to_tensor
from app.models.manifest import Manifest

#: onnxruntime input element types Visor can feed, as numpy dtypes.
_DTYPES: dict[str, type[np.generic]] = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(uint8)": np.uint8,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
}


@dataclass(frozen=True)
class Decoded:
    """A model's answer mapped back to the image it was given."""

    detections: list[Detection]
    classes: list[Classification]
    geometry: Geometry


class LoadedModel:
    """A session plus its manifest; :meth:`infer` is the whole per-call pipeline."""

    def __init__(
        self,
        manifest: Manifest,
        model: pathlib.Path | bytes,
        *,
        threads: int,
        providers: Sequence[str],
        version: int = 0,
    ) -> None:
        self.manifest = manifest
        self.version = version
        self.session = open_session(model, threads=threads, providers=providers)
        self._input_name, self._dtype = self._check_input(self.session)
        # A model whose batch dimension is not fixed takes a whole batch in one run.
        self.batchable = not isinstance(self.session.get_inputs()[0].shape[0], int)

    def _check_input(self, session: ort.InferenceSession) -> tuple[str, type[np.generic]]:
        inputs = session.get_inputs()
        if len(inputs) != 1:
            raise ModelMismatch(
                f"the model has {len(inputs)} inputs; Visor feeds models one image input",
                details={"inputs": [i.name for i in inputs]},
            )
        (first,) = inputs
        dtype = _DTYPES.get(first.type)
        if dtype is None:
            raise ModelMismatch(
                f"the model's input {first.name!r} is {first.type}; Visor feeds "
                + ", ".join(sorted(_DTYPES)),
                details={"input_type": first.type},
            )
        spec = self.manifest.input
        if spec.layout is Layout.NCHW:
            expected: list[int | None] = [1, 3, spec.height, spec.width]
        else:
            expected = [1, spec.height, spec.width, 3]
        shape = list(first.shape)
        fixed = [d if isinstance(d, int) else None for d in shape]
        if len(shape) != 4 or any(
            got is not None and want is not None and got != want
            for got, want in zip(fixed, expected, strict=True)
        ):
            raise ModelMismatch(
                f"the model's input {first.name!r} has shape {shape}; the manifest "
                f"({spec.layout.value}, {spec.width}x{spec.height}) gives {expected}",
                details={"input_shape": [str(d) for d in shape], "expected": expected},
            )
        return first.name, dtype

    def infer(self, rgb: np.ndarray, post: Postprocess | None = None) -> Decoded:
        """Run the model on an RGB uint8 image (H, W, 3)."""
        tensor, geometry = self._tensor(rgb)
        outputs = self.session.run(None, {self._input_name: tensor})
        return self._decoded(outputs, geometry, post)

    def infer_many(
        self, images: Sequence[np.ndarray], posts: Sequence[Postprocess | None]
    ) -> list[Decoded]:
        """:meth:`infer` for several images: one session run for all of them when the
        model's batch dimension is free (each image's answer is the one it gets alone: the
        same tensor, the same kernels per image, decoded on its own), else one run each."""
        if not self.batchable or len(images) < 2:
            return [self.infer(rgb, post) for rgb, post in zip(images, posts, strict=True)]
        prepared = [self._tensor(rgb) for rgb in images]
        batch = np.concatenate([tensor for tensor, _ in prepared], axis=0)
        outputs = self.session.run(None, {self._input_name: batch})
        if any(np.ndim(out) == 0 or np.shape(out)[0] != len(images) for out in outputs):
            # outputs without a per-image first axis: nothing to split, so run one by one
            return [self.infer(rgb, post) for rgb, post in zip(images, posts, strict=True)]
        return [
            self._decoded([out[index : index + 1] for out in outputs], geometry, post)
            for index, ((_, geometry), post) in enumerate(zip(prepared, posts, strict=True))
        ]

    def _tensor(self, rgb: np.ndarray) -> tuple[np.ndarray, Geometry]:
        manifest = self.manifest
        spec = manifest.input
        fitted, geometry = fit(rgb, manifest.size, spec.resize, pad_value=spec.pad_value)
        tensor = to_tensor(
            fitted,
            layout=spec.layout,
            color=spec.color,
            scale=spec.normalization.scale,
            mean=spec.normalization.mean,
            std=spec.normalization.std,
            dtype=self._dtype,
        )
        return tensor, geometry

    def _decoded(
        self, outputs: list[np.ndarray], geometry: Geometry, post: Postprocess | None
    ) -> Decoded:
        manifest = self.manifest
        found = decode(
            outputs, manifest.decoder, post or manifest.thresholds, manifest.labels, manifest.size
        )
        detections = [f for f in found if isinstance(f, Detection)]
        classes = [f for f in found if isinstance(f, Classification)]
        return Decoded(detections, classes, geometry)


def smoke_image() -> np.ndarray:
    """A fixed, busy 480x640 RGB image (noise and bars): what registration runs a model on."""
    rng = np.random.default_rng(22)
    image = rng.integers(0, 256, size=(480, 640, 3), dtype=np.uint8)
    image[100:300, 200:260] = (250, 30, 30)
    return image
