"""faces: the astronaut photograph's face is found where it is; shapes give no faces."""

from __future__ import annotations

from typing import Any

import pytest
from builtin_samples import box_tuple, iou, shapes_image
from PIL import Image

from app.plugins.testing import PluginHarness, image_payload

skimage_data = pytest.importorskip("skimage.data")

#: Hand-drawn box (eyebrows to chin, cheek to cheek) around Eileen Collins's face in
#: scikit-image's ``astronaut`` sample (512x512), drawn by eye, not by the detector.
ASTRONAUT_FACE = (178, 75, 92, 105)


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    return Image.fromarray(skimage_data.astronaut())


def test_the_astronaut_face_is_found(builtins: PluginHarness, astronaut: Image.Image) -> None:
    result = builtins.call("faces.detect", image_payload(astronaut, image_format="JPEG"))
    assert result["count"] == 1
    face = result["faces"][0]
    assert iou(box_tuple(face["box"]), ASTRONAUT_FACE) >= 0.5
    assert face["score"] > 2
    assert (result["width"], result["height"]) == (512, 512)


def test_alternative_cascade_agrees(builtins: PluginHarness, astronaut: Image.Image) -> None:
    result = builtins.call("faces.detect", image_payload(astronaut, model="frontal_alt2"))
    assert [iou(box_tuple(f["box"]), ASTRONAUT_FACE) >= 0.5 for f in result["faces"]] == [True]


def test_no_faces_on_plain_shapes(builtins: PluginHarness) -> None:
    for model in ("frontal", "frontal_alt2", "profile"):
        result = builtins.call("faces.detect", image_payload(shapes_image(), model=model))
        assert result["faces"] == [], model
    blank = Image.new("RGB", (200, 200), "white")
    assert builtins.call("faces.detect", image_payload(blank))["count"] == 0


def test_size_limits(builtins: PluginHarness, astronaut: Image.Image) -> None:
    assert builtins.call("faces.detect", image_payload(astronaut, min_size=200))["count"] == 0
    assert builtins.call("faces.detect", image_payload(astronaut, max_size=60))["count"] == 0
    assert builtins.call("faces.detect", image_payload(astronaut, min_score=1000))["count"] == 0


def test_large_images_are_detected_downscaled_but_reported_full_size(
    builtins: PluginHarness, astronaut: Image.Image
) -> None:
    double = astronaut.resize((1024, 1024))
    result = builtins.call("faces.detect", image_payload(double, max_side=512, image_format="JPEG"))
    doubled = tuple(2 * v for v in ASTRONAUT_FACE)
    assert result["width"] == 1024
    assert [iou(box_tuple(f["box"]), doubled) >= 0.5 for f in result["faces"]] == [True]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "option", [{"scale_factor": 1.0}, {"min_neighbors": -1}, {"model": "cat"}, {"min_size": 2}]
)
def test_impossible_options_are_validation_errors(
    builtins: PluginHarness, astronaut: Image.Image, option: dict[str, Any]
) -> None:
    error = builtins.error("faces.detect", image_payload(astronaut, **option))
    assert error["details"]["code"] == "invalid_input"
