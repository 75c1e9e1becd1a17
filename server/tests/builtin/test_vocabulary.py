"""One result vocabulary across every built-in (app.plugins.vocabulary).

Two checks, for every built-in registered in the ``visor.plugins`` group:

* the published output schemas use the shared shapes wherever the names appear
  (``box`` = four integers, ``polygon`` = integer ``[x, y]`` pairs, ``confidence`` in
  [0, 1], ``width``/``height`` on the result) — so a renderer can trust the names;
* real results obey them: every region lies inside the image, every confidence in
  [0, 1], and coordinates refer to the image as displayed, after EXIF orientation
  (a photo stored sideways with an Orientation tag gets boxes on the upright picture).
"""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import zxingcpp
from builtin_samples import SENTENCES, dark_bbox, iou, render_lines
from PIL import Image

from app.plugins.base import Plugin
from app.plugins.loader.plugin_loader import BUILTIN_DISTRIBUTION, discover
from app.plugins.testing import PluginHarness, image_payload
from app.plugins.vocabulary import regions

skimage_data = pytest.importorskip("skimage.data")

HAVE_RAPID = all(importlib.util.find_spec(m) is not None for m in ("rapidocr", "onnxruntime"))

#: Eileen Collins herself in the astronaut photo (see test_objects.py), upright coordinates.
ASTRONAUT_PERSON = (20, 20, 340, 492)
#: The astronaut's face in scikit-image's photo (see test_faces.py), upright coordinates.
ASTRONAUT_FACE = (178, 75, 92, 105)

#: EXIF Orientation 6: the stored pixels must be turned 90 degrees clockwise for display.
EXIF_ROTATE_CW = 6


def _builtin_classes() -> dict[str, type[Plugin]]:
    found = {}
    for source in discover():
        if source.distribution == BUILTIN_DISTRIBUTION:
            found[source.key] = source.load()
    return found


BUILTIN_CLASSES = _builtin_classes()


def _schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, cls in BUILTIN_CLASSES.items():
        for tool_name, spec in cls.tool_specs().items():
            yield f"{name}.{tool_name}", spec.output_schema


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _resolve(root["$defs"][ref.rsplit("/", 1)[1]], root)
    return schema


def _non_null(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of ``X | None``."""
    schema = _resolve(schema, root)
    options = [o for o in schema.get("anyOf", []) if o.get("type") != "null"]
    return _resolve(options[0], root) if len(options) == 1 else schema


def _properties(schema: dict[str, Any], root: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Every (name, schema) of an object property anywhere in the schema."""
    schema = _resolve(schema, root)
    for name, sub in schema.get("properties", {}).items():
        yield name, sub
        yield from _properties(_non_null(sub, root), root)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _properties(schema[key], root)
    for sub in schema.get("anyOf", []) + schema.get("prefixItems", []):
        yield from _properties(sub, root)


def _is_integer_tuple(schema: dict[str, Any], length: int) -> bool:
    items = schema.get("prefixItems", [])
    return (
        schema.get("type") == "array"
        and len(items) == length
        and all(i.get("type") == "integer" for i in items)
        and schema.get("minItems") == length == schema.get("maxItems")
    )


def test_every_builtin_is_covered() -> None:
    assert {"image_info", "ocr", "barcode", "faces", "ocr-rapid", "people", "objects"} <= set(
        BUILTIN_CLASSES
    )


@pytest.mark.parametrize(("tool", "schema"), list(_schemas()), ids=lambda v: str(v)[:30])
def test_output_schemas_use_the_shared_shapes(tool: str, schema: dict[str, Any]) -> None:
    names = dict.fromkeys(name for name, _ in _properties(schema, schema))
    for name, sub in _properties(schema, schema):
        sub = _non_null(sub, schema)
        if name == "box":
            assert _is_integer_tuple(sub, 4), (tool, sub)
        elif name == "polygon":
            assert sub["type"] == "array", (tool, sub)
            assert _is_integer_tuple(_resolve(sub["items"], schema), 2), (tool, sub)
        elif name == "confidence":
            assert sub["type"] == "number", (tool, sub)
            assert (sub.get("minimum"), sub.get("maximum")) == (0, 1), (tool, sub)
    if "box" in names:  # results with regions say what image their coordinates refer to
        assert {"width", "height"} <= set(_resolve(schema, schema)["properties"]), tool
    for legacy in ("position", "top_left"):  # the old shapes are gone for good
        assert legacy not in names, (tool, legacy)


def test_both_ocr_engines_use_the_same_names() -> None:
    def fields(tool: str) -> set[str]:
        plugin, name = tool.split(".")
        schema = BUILTIN_CLASSES[plugin].tool_specs()[name].output_schema
        return set(_resolve(schema, schema)["properties"])

    shared = {"text", "confidence", "lines", "words", "level", "truncated", "total_items"}
    assert shared <= fields("ocr.read_words") & fields("ocr-rapid.read_text")
    assert {"text", "confidence"} <= fields("ocr.read_text")


# -- real results -------------------------------------------------------------------------


def _sideways_jpeg(upright: Image.Image) -> bytes:
    """``upright`` stored turned 90 degrees counter-clockwise, with EXIF saying so."""
    stored = upright.convert("RGB").transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = EXIF_ROTATE_CW
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


def _check_regions(result: dict[str, Any]) -> list[dict[str, Any]]:
    width, height = result["width"], result["height"]
    found = list(regions(result))
    for region in found:
        x, y, w, h = region["box"]
        assert x >= 0 and y >= 0 and w >= 0 and h >= 0, region
        assert x + w <= width + 1 and y + h <= height + 1, (region, width, height)
        for px, py in region.get("polygon") or []:
            assert -2 <= px <= width + 2 and -2 <= py <= height + 2, region
        if "confidence" in region:
            assert 0.0 <= region["confidence"] <= 1.0, region
    return found


@pytest.fixture(scope="module")
def everything() -> Iterator[PluginHarness]:
    names = ["ocr", "barcode", "faces", "people", "objects"] + (["ocr-rapid"] if HAVE_RAPID else [])
    with PluginHarness(*names) as harness:
        yield harness


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    return Image.fromarray(skimage_data.astronaut())


def test_faces_and_people_boxes_are_in_display_coordinates(
    everything: PluginHarness, astronaut: Image.Image
) -> None:
    payload = image_payload(_sideways_jpeg(astronaut), mime_type="image/jpeg")
    faces = everything.call("faces.detect", payload)
    assert (faces["width"], faces["height"]) == astronaut.size
    assert [iou(tuple(f["box"]), ASTRONAUT_FACE) >= 0.5 for f in _check_regions(faces)] == [True]
    people = everything.call("people.detect", dict(payload))
    assert (people["width"], people["height"]) == astronaut.size
    assert [iou(tuple(p["box"]), ASTRONAUT_PERSON) >= 0.7 for p in _check_regions(people)] == [True]
    objects = everything.call("objects.detect", dict(payload))
    assert [o["label"] for o in _check_regions(objects)] == ["person"]
    assert iou(tuple(objects["objects"][0]["box"]), ASTRONAUT_PERSON) >= 0.7
    pose = everything.call("people.pose", dict(payload))
    (person,) = _check_regions(pose)
    for found in (person, faces["faces"][0]):  # keypoints are display coordinates too
        x, y, w, h = found["box"]
        confident = [k["point"] for k in found["keypoints"] if k["confidence"] >= 0.3]
        assert len(confident) >= 5
        assert all(x - 2 <= px <= x + w + 2 and y - 2 <= py <= y + h + 2 for px, py in confident)
    nose = next(k["point"] for k in person["keypoints"] if k["name"] == "nose")
    fx, fy, fw, fh = ASTRONAUT_FACE
    assert fx <= nose[0] <= fx + fw and fy <= nose[1] <= fy + fh


def test_barcode_polygon_and_box_in_display_coordinates(everything: PluginHarness) -> None:
    symbol = np.asarray(
        zxingcpp.create_barcode("upright", zxingcpp.BarcodeFormat.QRCode).to_image(scale=4)
    )
    page = Image.new("L", (400, 300), 255)
    page.paste(Image.fromarray(symbol), (230, 40))  # top-right area of the upright page
    result = everything.call(
        "barcode.read", image_payload(_sideways_jpeg(page), mime_type="image/jpeg")
    )
    assert (result["width"], result["height"]) == (400, 300)
    (code,) = _check_regions(result)
    assert iou(tuple(code["box"]), dark_bbox(symbol, (230, 40))) >= 0.8, code["box"]
    assert len(code["polygon"]) == 4


@pytest.mark.parametrize(
    "tool",
    ["ocr.read_words", "ocr-rapid.read_text"],
)
def test_text_regions_in_display_coordinates(everything: PluginHarness, tool: str) -> None:
    if tool.startswith("ocr-rapid") and not HAVE_RAPID:
        pytest.skip('needs "visor-server[ocr-rapid]"')
    page, rendered = render_lines(list(SENTENCES[:2]), 28)
    payload = image_payload(_sideways_jpeg(page), mime_type="image/jpeg", level="words")
    result = everything.call(tool, payload)
    assert (result["width"], result["height"]) == page.size
    _check_regions(result)
    assert result["lines"] and result["words"]
    first = next(w for w in result["words"] if w["text"] == "quick")
    expected = next(w.box for w in rendered if w.text == "quick")
    assert iou(tuple(first["box"]), expected) >= 0.5, (first, expected)
    assert 0.5 < result["confidence"] <= 1.0
