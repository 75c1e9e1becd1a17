"""A model's batch handler: a batch of calls runs through the session once, and every call
gets exactly what it gets alone (results, and errors, compared whole)."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from onnx_graphs import conv_detector_model
from PIL import Image
from test_model_plugin import stored

from app.plugins.base import InvalidInput, ToolContext

MANIFEST = {
    "task": "detect",
    "labels": ["a", "b", "c", "d"],
    "input": {"width": 96, "height": 96, "resize": "letterbox"},
    "decoder": {"family": "yolo", "layout": "v8", "normalized": True},
    "thresholds": {"score_threshold": 0.6, "iou": 0.5, "max_detections": 50},
}


def _image(seed: int, size: tuple[int, int]) -> str:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


class _CountingSession:
    """The model's session, counting runs (what the batch handler must save)."""

    def __init__(self, session: Any) -> None:
        self._session, self.runs = session, 0

    def run(self, *args: Any, **kwargs: Any) -> Any:
        self.runs += 1
        return self._session.run(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def test_a_batch_runs_once_and_answers_each_call_as_alone(tmp_path: Path) -> None:
    cls = stored(tmp_path, "convs", conv_detector_model(), MANIFEST)
    spec = cls.tool_specs()["detect"]
    assert spec.batch is not None and spec.batch.handler == "serve_batch"
    plugin = cls()
    plugin.startup()
    try:
        model = plugin._current
        assert model is not None and model.batchable
        payloads = [
            {"image": _image(1, (160, 120))},
            {"image": _image(2, (96, 96)), "score_threshold": 0.55},
            {"image": _image(3, (80, 200)), "classes": ["b", "c"]},
            {"image": _image(4, (300, 90)), "max_detections": 3},
            {"image": _image(5, (64, 64)), "classes": ["zebra"]},  # its own InvalidInput
        ]
        args = [spec.prepare_args(p) for p in payloads]
        ctxs = [ToolContext(plugin="convs", tool="detect") for _ in payloads]
        counting = model.session = _CountingSession(model.session)
        batched = plugin.serve_batch(args, ctxs)
        assert counting.runs == 1  # four images, one session run
        alone: list[Any] = []
        for one, ctx in zip(args, ctxs, strict=True):
            try:
                alone.append(plugin.serve(one, ctx))
            except InvalidInput as exc:
                alone.append(exc)
        assert batched[:4] == alone[:4]
        assert sum(r["count"] for r in batched[:4]) > 0  # something was found to compare
        assert isinstance(batched[4], InvalidInput) and isinstance(alone[4], InvalidInput)
        assert batched[4].message == alone[4].message
    finally:
        plugin.shutdown()


@pytest.mark.parametrize("count", [1, 2])
def test_small_batches_match_too(tmp_path: Path, count: int) -> None:
    cls = stored(tmp_path, "convs", conv_detector_model(seed=11), MANIFEST)
    spec = cls.tool_specs()["detect"]
    plugin = cls()
    plugin.startup()
    try:
        args = [spec.prepare_args({"image": _image(20 + i, (120, 90))}) for i in range(count)]
        ctxs = [ToolContext(plugin="convs", tool="detect") for _ in args]
        assert plugin.serve_batch(args, ctxs) == [
            plugin.serve(a, c) for a, c in zip(args, ctxs, strict=True)
        ]
    finally:
        plugin.shutdown()
