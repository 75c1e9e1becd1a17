"""faces: the astronaut photograph's face is found where it is by every detector; shapes,
the cat, the coffee cup and the rocket give no faces with the default (MTCNN)."""

from __future__ import annotations

import io
import math
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


def test_the_astronaut_face_is_found_by_haar(
    builtins: PluginHarness, astronaut: Image.Image
) -> None:
    result = builtins.call(
        "faces.detect", image_payload(astronaut, image_format="JPEG", detector="haar")
    )
    assert result["count"] == 1
    face = result["faces"][0]
    assert iou(box_tuple(face["box"]), ASTRONAUT_FACE) >= 0.5
    assert face["score"] > 2
    assert (result["width"], result["height"]) == (512, 512)


def test_alternative_cascade_agrees(builtins: PluginHarness, astronaut: Image.Image) -> None:
    result = builtins.call(
        "faces.detect", image_payload(astronaut, detector="haar", model="frontal_alt2")
    )
    assert [iou(box_tuple(f["box"]), ASTRONAUT_FACE) >= 0.5 for f in result["faces"]] == [True]


def test_no_faces_on_plain_shapes(builtins: PluginHarness) -> None:
    for model in ("frontal", "frontal_alt2", "profile"):
        args = {"detector": "haar", "model": model}
        result = builtins.call("faces.detect", image_payload(shapes_image(), **args))
        assert result["faces"] == [], model
    blank = Image.new("RGB", (200, 200), "white")
    for detector in ("mtcnn", "blazeface", "haar"):
        args = {"detector": detector}
        assert builtins.call("faces.detect", image_payload(blank, **args))["count"] == 0
        assert builtins.call("faces.detect", image_payload(shapes_image(), **args))["faces"] == []


@pytest.mark.parametrize("detector", ["mtcnn", "blazeface", "haar"])
def test_size_limits(builtins: PluginHarness, astronaut: Image.Image, detector: str) -> None:
    def count(**args: Any) -> int:
        result = builtins.call("faces.detect", image_payload(astronaut, detector=detector, **args))
        return int(result["count"])

    assert count() == 1
    assert count(min_size=200) == 0
    assert count(max_size=60) == 0
    assert count(min_score=1000) == 0


def test_large_images_are_detected_downscaled_but_reported_full_size(
    builtins: PluginHarness, astronaut: Image.Image
) -> None:
    double = astronaut.resize((1024, 1024))
    doubled = tuple(2 * v for v in ASTRONAUT_FACE)
    for detector in ("mtcnn", "haar"):
        args = {"max_side": 512, "image_format": "JPEG", "detector": detector}
        result = builtins.call("faces.detect", image_payload(double, **args))
        assert result["width"] == 1024
        assert [iou(box_tuple(f["box"]), doubled) >= 0.5 for f in result["faces"]] == [True]  # type: ignore[arg-type]
        # Landmarks are mapped back with the box: every one lies inside it.
        for face in result["faces"]:
            x, y, w, h = face["box"]
            assert all(
                x <= k["point"][0] <= x + w and y <= k["point"][1] <= y + h
                for k in face["keypoints"]
            )


@pytest.mark.parametrize(
    "option",
    [
        {"scale_factor": 1.0},
        {"min_neighbors": -1},
        {"model": "cat"},
        {"min_size": 2},
        {"detector": "yunet"},
    ],
)
def test_impossible_options_are_validation_errors(
    builtins: PluginHarness, astronaut: Image.Image, option: dict[str, Any]
) -> None:
    error = builtins.error("faces.detect", image_payload(astronaut, **option))
    assert error["details"]["code"] == "invalid_input"


# -- the learned detectors -------------------------------------------------------------------

#: Where the astronaut's eyes, nose and mouth are (read off the photo by eye, 512x512).
ASTRONAUT_EYES = ((205, 101), (247, 103))  # her right eye (image left), her left eye
ASTRONAUT_NOSE = (225, 128)


def _near(point: list[int], expected: tuple[int, int], tolerance: float) -> bool:
    return math.dist(point, expected) <= tolerance


@pytest.mark.parametrize("detector", ["mtcnn", "blazeface"])
def test_learned_detectors_find_the_astronaut_with_landmarks(
    builtins: PluginHarness, astronaut: Image.Image, detector: str
) -> None:
    result = builtins.call(
        "faces.detect", image_payload(astronaut, image_format="JPEG", detector=detector)
    )
    assert (result["count"], result["detector"]) == (1, detector)
    face = result["faces"][0]
    assert iou(box_tuple(face["box"]), ASTRONAUT_FACE) >= 0.6
    assert face["confidence"] == face["score"] >= 0.8
    points = {k["name"]: k["point"] for k in face["keypoints"]}
    assert _near(points["right_eye"], ASTRONAUT_EYES[0], 8)
    assert _near(points["left_eye"], ASTRONAUT_EYES[1], 8)
    assert _near(points["nose"], ASTRONAUT_NOSE, 10)


def test_mtcnn_is_the_default(builtins: PluginHarness, astronaut: Image.Image) -> None:
    result = builtins.call("faces.detect", image_payload(astronaut))
    assert (result["detector"], result["model"]) == ("mtcnn", "mtcnn")
    assert [k["name"] for k in result["faces"][0]["keypoints"]] == [
        "right_eye", "left_eye", "nose", "mouth_right", "mouth_left"
    ]  # fmt: skip


@pytest.mark.parametrize("photo", ["chelsea", "coffee", "rocket"])
def test_no_faces_on_a_cat_a_cup_or_a_rocket(builtins: PluginHarness, photo: str) -> None:
    image = Image.fromarray(getattr(skimage_data, photo)())
    assert builtins.call("faces.detect", image_payload(image))["faces"] == []


def test_exif_rotated_photo_maps_the_face_back(
    builtins: PluginHarness, astronaut: Image.Image
) -> None:
    """A JPEG stored sideways with an EXIF "rotate 90" tag: boxes are in displayed pixels."""
    stored = astronaut.transpose(Image.Transpose.ROTATE_90)  # what the camera wrote
    exif = Image.Exif()
    exif[0x0112] = 6  # display: rotate 90 clockwise
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", exif=exif)
    result = builtins.call("faces.detect", image_payload(buffer.getvalue(), mime_type="image/jpeg"))
    assert (result["width"], result["height"]) == astronaut.size
    assert [iou(box_tuple(f["box"]), ASTRONAUT_FACE) >= 0.6 for f in result["faces"]] == [True]
    points = {k["name"]: k["point"] for k in result["faces"][0]["keypoints"]}
    assert _near(points["right_eye"], ASTRONAUT_EYES[0], 8)
