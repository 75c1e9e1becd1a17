"""Model repository fixtures: a small detector as files, and an app serving models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from onnx_graphs import yolo_manifest, yolo_v5_model


@pytest.fixture
def detector(tmp_path: Path) -> tuple[Path, Path]:
    """``(model.onnx, manifest.json)`` of a detector that finds a cat at (100, 50, 200, 200)
    in a 640x480 image."""
    model = tmp_path / "cats.onnx"
    model.write_bytes(yolo_v5_model([0.9, 0.1]))
    manifest = tmp_path / "cats.json"
    manifest.write_text(json.dumps(yolo_manifest(["cat", "dog"])))
    return model, manifest
