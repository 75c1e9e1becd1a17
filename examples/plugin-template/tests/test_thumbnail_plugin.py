"""The template's own tests: they run the plugin through Visor's real ToolRunner.

``PluginHarness`` loads the plugin like the server does (contract validation, startup
hook), validates inputs and outputs against the schemas and returns Visor's error
envelope on failure — so these tests exercise exactly what production runs.
"""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from app.plugins.testing import PluginHarness, image_payload
from visor_thumbnail import ThumbnailPlugin


@pytest.fixture(scope="module")
def harness():
    with PluginHarness(ThumbnailPlugin) as h:
        yield h


def _gradient(width: int = 400, height: int = 200) -> Image.Image:
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    return image


def test_thumbnail_keeps_the_aspect_ratio(harness: PluginHarness) -> None:
    result = harness.call("thumbnail", image_payload(_gradient(), max_side=100))
    assert (result["width"], result["height"]) == (100, 50)
    assert (result["original_width"], result["original_height"]) == (400, 200)
    decoded = Image.open(io.BytesIO(base64.b64decode(result["image"])))
    assert decoded.format == "PNG" and decoded.size == (100, 50)
    assert harness.progress == [(0.5, "decoded")]


def test_jpeg_thumbnail_of_a_transparent_image(harness: PluginHarness) -> None:
    rgba = Image.new("RGBA", (64, 64), (255, 0, 0, 128))
    result = harness.call("thumbnail", image_payload(rgba, max_side=32, format="jpeg"))
    assert result["mime_type"] == "image/jpeg"
    assert Image.open(io.BytesIO(base64.b64decode(result["image"]))).format == "JPEG"


def test_histogram_counts_every_pixel(harness: PluginHarness) -> None:
    black_and_white = Image.new("L", (10, 10), 0)
    black_and_white.paste(255, (0, 0, 10, 5))
    result = harness.call("histogram", image_payload(black_and_white, bins=4))
    assert result["counts"] == [50, 0, 0, 50]
    assert result["pixels"] == 100 and len(result["edges"]) == 5


def test_schema_violations_and_bad_images_are_validation_errors(harness: PluginHarness) -> None:
    error = harness.error("thumbnail", image_payload(_gradient(), max_side=4))
    assert (error["type"], error["details"]["code"]) == ("ValidationError", "invalid_input")
    error = harness.error("histogram", image_payload(b"not an image"))
    assert error["details"]["code"] == "invalid_input"


def test_the_installed_entry_point_loads(harness: PluginHarness) -> None:
    # Loading by entry-point name proves the packaging (pyproject) is right.
    with PluginHarness("thumbnail") as installed:
        assert installed.state("thumbnail") == "INITIALIZED"  # loaded and started
        assert installed.call("histogram", image_payload(_gradient(), bins=2))["pixels"] == 80_000
