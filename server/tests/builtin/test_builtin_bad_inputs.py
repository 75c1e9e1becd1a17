"""Hostile inputs for every built-in tool: each is a ValidationError, never a crash."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from builtin_samples import png_with_header, truncated_png

from app.plugins.testing import PluginHarness

TOOLS = (
    "ocr.read_text",
    "ocr.read_words",
    "barcode.read",
    "faces.detect",
    "people.detect",
    "ocr.export",
    "image_info.describe",
    "ocr-rapid.read_text",
)


def _payload(data: bytes, mime_type: str = "image/png") -> dict[str, Any]:
    return {"image": base64.b64encode(data).decode("ascii"), "mime_type": mime_type}


BAD_INPUTS: dict[str, dict[str, Any]] = {
    "truncated file": _payload(truncated_png()),
    "zero-size image": _payload(png_with_header(0, 0)),
    "huge dimensions": _payload(png_with_header(200_000, 200_000)),
    "text posing as png": _payload(b"hello, I am not an image"),
    "pdf mime type": _payload(b"%PDF-1.4 ...", "application/pdf"),
    "not base64": {"image": "***not base64***", "mime_type": "image/png"},
    "image is a number": {"image": 42, "mime_type": "image/png"},
    "no image": {"mime_type": "image/png"},
}


@pytest.fixture(scope="module")
def harness() -> Iterator[PluginHarness]:
    with PluginHarness("ocr", "barcode", "faces", "people", "image_info", "ocr-rapid") as h:
        yield h


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
@pytest.mark.parametrize("target", TOOLS)
def test_bad_input_is_a_validation_error(harness: PluginHarness, target: str, case: str) -> None:
    plugin, _, tool = target.partition(".")
    if harness.state(plugin) == "UNAVAILABLE":
        pytest.skip(f"{plugin}: {harness.reason(plugin)}")
    result, error = harness.run(plugin, dict(BAD_INPUTS[case]), tool)
    assert result == {}
    assert error["error"]["type"] == "ValidationError", error["error"]
    assert error["error"]["details"]["code"] == "invalid_input"
    assert "Traceback" not in error["error"]["message"]


def test_plugins_keep_serving_after_bad_inputs(harness: PluginHarness) -> None:
    for _ in range(3):
        harness.run("ocr", dict(BAD_INPUTS["truncated file"]))
    health = harness.registry.health("ocr")
    assert health is not None and health.state != "FAILED"
