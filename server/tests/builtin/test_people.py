"""people: real photos with hand-drawn boxes (photos.py); no people where there are none."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from photos import iou, match, people_photos, photos_without_people

from app.plugins.testing import PluginHarness, image_payload

pytest.importorskip("skimage")


@pytest.fixture(scope="module")
def people() -> Iterator[PluginHarness]:
    with PluginHarness("people") as harness:
        yield harness


def _boxes(result: dict[str, Any]) -> list[tuple[int, int, int, int]]:
    return [tuple(p["box"]) for p in result["people"]]  # type: ignore[misc]


@pytest.mark.parametrize("photo", people_photos(), ids=lambda p: p.name)
def test_people_in_real_photos(people: PluginHarness, photo: Any) -> None:
    result = people.call("people.detect", image_payload(photo.image, image_format="JPEG"))
    hits, false_hits = match(photo.boxes, _boxes(result))
    assert hits >= len(photo.boxes) - 1, (photo.name, result["people"])
    assert false_hits == 0, (photo.name, result["people"])
    assert result["count"] == len(result["people"])
    scores = [p["score"] for p in result["people"]]
    assert scores == sorted(scores, reverse=True) and all(s >= 1.0 for s in scores)
    assert all(p["confidence"] >= 0.5 for p in result["people"])


@pytest.mark.parametrize("photo", photos_without_people(), ids=lambda p: p.name)
def test_no_people_in_photos_without_any(people: PluginHarness, photo: Any) -> None:
    assert people.call("people.detect", image_payload(photo.image))["people"] == []


def test_non_maximum_suppression_reports_each_person_once(people: PluginHarness) -> None:
    photo = people_photos()[1]  # six people on a walkway
    merged = _boxes(people.call("people.detect", image_payload(photo.image, min_score=0)))
    raw = _boxes(people.call("people.detect", image_payload(photo.image, min_score=0, overlap=1.0)))
    assert len(raw) > len(merged)  # the SVM fires several overlapping windows per person
    assert all(iou(a, b) < 0.45 for i, a in enumerate(merged) for b in merged[i + 1 :])


def test_small_people_need_the_upscale(people: PluginHarness) -> None:
    photo = people_photos()[1]
    default, _ = match(
        photo.boxes, _boxes(people.call("people.detect", image_payload(photo.image)))
    )
    plain = people.call("people.detect", image_payload(photo.image, upscale=1.0))
    fewer, _ = match(photo.boxes, _boxes(plain))
    assert fewer < default


@pytest.mark.parametrize(
    "option", [{"model": "yolo"}, {"stride": 5}, {"upscale": 0.5}, {"overlap": 2}]
)
def test_impossible_options_are_validation_errors(
    people: PluginHarness, option: dict[str, Any]
) -> None:
    image = people_photos()[0].image
    error = people.error("people.detect", image_payload(image, **option))
    assert error["details"]["code"] == "invalid_input"
