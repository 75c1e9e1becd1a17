"""The generic renderer: shapes found by the shared vocabulary, drawn where they are."""

from __future__ import annotations

import io

import pytest
from helpers import b64, png_bytes
from PIL import Image
from visor_test_plugins.finder import FinderPlugin

from app.plugins.base import InvalidInput
from app.rendering.draw import render_png
from app.rendering.renderer import Renderer
from app.rendering.shapes import Shape, find_shapes, schema_has_shapes

WHITE = (255, 255, 255)


def test_boxes_and_polygons_are_found_anywhere_with_their_labels() -> None:
    result = {
        "lines": [
            {"text": "Hello   world", "box": [10, 20, 30, 40], "words": [{"box": [1, 2, 3, 4]}]},
            {"text": "tilted", "box": [0, 0, 9, 9], "polygon": [[0, 0], [9, 1], [8, 9], [0, 8]]},
        ],
        "barcodes": [{"format": "QRCode", "polygon": [[5, 5], [15, 5], [15, 15], [5, 15]]}],
        "count": 3,
    }

    shapes = find_shapes(result)

    assert shapes == [
        Shape(((10, 20), (40, 20), (40, 60), (10, 60)), "Hello world"),
        Shape(((1, 2), (4, 2), (4, 6), (1, 6)), None),
        Shape(((0, 0), (9, 1), (8, 9), (0, 8)), "tilted"),  # the polygon wins over its box
        Shape(((5, 5), (15, 5), (15, 15), (5, 15)), "QRCode"),
    ]


@pytest.mark.parametrize(
    "value",
    [
        {"box": [1, 2, 3]},
        {"box": [1, 2, 3, "4"]},
        {"box": [True, 2, 3, 4]},
        {"box": [1, 2, -3, 4]},
        {"box": {"x": 1, "y": 2, "width": 3, "height": 4}},
        {"polygon": [[1, 2], [3, 4]]},
        {"polygon": [[1, 2], [3, 4], [5]]},
        {"polygon": "not points"},
    ],
)
def test_anything_outside_the_vocabulary_is_not_drawn(value: dict[str, object]) -> None:
    assert find_shapes(value) == []


def test_a_tool_finds_things_when_its_output_schema_has_boxes_or_polygons() -> None:
    specs = FinderPlugin.tool_specs()
    assert schema_has_shapes(specs["find"].output_schema)  # nested under $defs
    assert not schema_has_shapes(specs["flood"].output_schema)


def test_outlines_are_drawn_on_the_shapes_and_nowhere_else() -> None:
    image = Image.new("RGB", (200, 100), WHITE)
    box = Shape(((20, 20), (120, 20), (120, 80), (20, 80)), None)

    drawn = Image.open(io.BytesIO(render_png(image, [box]))).convert("RGB")

    assert drawn.size == (200, 100)
    assert drawn.getpixel((70, 20)) != WHITE  # top edge
    assert drawn.getpixel((20, 50)) != WHITE  # left edge
    assert drawn.getpixel((70, 50)) == WHITE  # inside
    assert drawn.getpixel((160, 50)) == WHITE  # outside


def test_large_images_are_scaled_down_with_their_shapes() -> None:
    image = Image.new("RGB", (4000, 2000), WHITE)
    box = Shape(((1000, 500), (3000, 500), (3000, 1500), (1000, 1500)), "big")

    drawn = Image.open(io.BytesIO(render_png(image, [box], max_side=800))).convert("RGB")

    assert drawn.size == (800, 400)
    assert drawn.getpixel((400, 300)) != WHITE  # bottom edge, scaled by 0.2
    assert drawn.getpixel((400, 200)) == WHITE


def test_renderer_draws_a_result_over_the_payload_image() -> None:
    payload = {"image": b64(png_bytes((64, 48), WHITE)), "mime_type": "image/png"}
    result = {"findings": [{"label": "box", "box": [8, 8, 16, 16]}]}

    drawn = Image.open(io.BytesIO(Renderer().render(payload, result))).convert("RGB")

    assert drawn.size == (64, 48)
    assert drawn.getpixel((8, 16)) != WHITE
    with pytest.raises(InvalidInput):
        Renderer().render({"text": "no image"}, result)
