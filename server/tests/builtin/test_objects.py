"""objects: NanoDet's COCO classes found where they are on real photos (scikit-image's)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from builtin_samples import box_tuple, iou
from PIL import Image

from app.plugins.testing import PluginHarness, image_payload

skimage_data = pytest.importorskip("skimage.data")

#: Hand-drawn boxes (by eye on the photos, not by the detector), [x, y, w, h].
#: astronaut: Eileen Collins from the top of her hair to the bottom edge, arm included.
ASTRONAUT_PERSON = (20, 20, 340, 492)
#: camera: the cameraman, hair to the bottom edge, camera and arm included.
CAMERAMAN = (10, 65, 310, 447)
#: stereo_motorcycle (left view): the motorcycle, wheels and mirrors included.
MOTORCYCLE = (100, 75, 590, 380)


@pytest.fixture(scope="module")
def objects() -> Iterator[PluginHarness]:
    with PluginHarness("objects") as harness:
        yield harness


def _photo(name: str) -> Image.Image:
    image = getattr(skimage_data, name)()
    if isinstance(image, tuple):  # stereo_motorcycle: (left, right, disparity)
        image = image[0]
    return Image.fromarray(image).convert("RGB")


def _found(result: dict[str, Any], label: str, expected: tuple[int, int, int, int]) -> bool:
    return any(
        o["label"] == label and iou(box_tuple(o["box"]), expected) >= 0.7 for o in result["objects"]
    )


@pytest.mark.parametrize(
    ("photo", "label", "box"),
    [
        ("astronaut", "person", ASTRONAUT_PERSON),
        ("camera", "person", CAMERAMAN),
        ("stereo_motorcycle", "motorcycle", MOTORCYCLE),
    ],
)
def test_objects_are_found_where_they_are(
    objects: PluginHarness, photo: str, label: str, box: tuple[int, int, int, int]
) -> None:
    result = objects.call("objects.detect", image_payload(_photo(photo), image_format="JPEG"))
    assert _found(result, label, box), result["objects"]
    assert result["count"] == len(result["objects"]) and result["model"] == "nanodet-g-416"
    scores = [o["confidence"] for o in result["objects"]]
    assert scores == sorted(scores, reverse=True) and min(scores) >= 0.4


@pytest.mark.parametrize(("photo", "label"), [("chelsea", "cat"), ("horse", "horse")])
def test_animals_are_named_and_are_not_people(
    objects: PluginHarness, photo: str, label: str
) -> None:
    result = objects.call("objects.detect", image_payload(_photo(photo)))
    labels = [o["label"] for o in result["objects"]]
    assert labels[:1] == [label] and "person" not in labels


def test_no_person_on_the_coffee_cup_or_the_rocket(objects: PluginHarness) -> None:
    for photo in ("coffee", "rocket"):
        result = objects.call("objects.detect", image_payload(_photo(photo)))
        assert "person" not in [o["label"] for o in result["objects"]], photo


def test_class_filter_and_thresholds(objects: PluginHarness) -> None:
    image = _photo("camera")
    everything = objects.call("objects.detect", image_payload(image, min_score=0.3))
    assert len({o["label"] for o in everything["objects"]}) > 1  # a person, a car...
    people = objects.call("objects.detect", image_payload(image, min_score=0.3, classes=["person"]))
    assert [o["label"] for o in people["objects"]] == ["person"]
    cars = objects.call("objects.detect", image_payload(image, min_score=0.3, classes=["car"]))
    assert cars["objects"] and {o["label"] for o in cars["objects"]} == {"car"}
    assert objects.call("objects.detect", image_payload(image, min_score=1.0))["objects"] == []
    one = objects.call("objects.detect", image_payload(image, min_score=0.3, max_objects=1))
    assert one["objects"] == everything["objects"][:1]


def test_the_unreliable_class_is_reported_only_when_asked_for(objects: PluginHarness) -> None:
    clock = _photo("clock")  # this model calls the wall clock a toilet
    unasked = objects.call("objects.detect", image_payload(clock))
    assert "toilet" not in [o["label"] for o in unasked["objects"]]
    asked = objects.call("objects.detect", image_payload(clock, classes=["toilet"]))
    assert [o["label"] for o in asked["objects"]] == ["toilet"]


def test_exif_rotated_photo_maps_boxes_back(objects: PluginHarness) -> None:
    upright = _photo("camera")
    exif = Image.Exif()
    exif[0x0112] = 8  # display: rotate 90 counter-clockwise
    buffer = io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_270).save(buffer, "JPEG", exif=exif)
    result = objects.call(
        "objects.detect", image_payload(buffer.getvalue(), mime_type="image/jpeg")
    )
    assert (result["width"], result["height"]) == upright.size
    assert _found(result, "person", CAMERAMAN), result["objects"]


@pytest.mark.parametrize(
    "option",
    [{"classes": ["unicorn"]}, {"classes": []}, {"min_score": 2}, {"max_objects": 0}, {"x": 1}],
)
def test_impossible_options_are_validation_errors(
    objects: PluginHarness, option: dict[str, Any]
) -> None:
    error = objects.error("objects.detect", image_payload(_photo("coffee"), **option))
    assert error["details"]["code"] == "invalid_input"
