"""ocr-rapid: reads text with only the bundled models, never the network; without the
extra it is listed UNAVAILABLE with the install command."""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from builtin_samples import SENTENCES, normalise_words, render_lines
from documents import PARAGRAPHS, cer, render_page, turn, word_recall
from helpers import b64, builtin_sources
from PIL import Image

from app.plugins.builtin.rapid_ocr import bundle
from app.plugins.testing import PluginHarness, image_payload

HAVE_EXTRA = all(importlib.util.find_spec(m) is not None for m in ("rapidocr", "onnxruntime"))
needs_extra = pytest.mark.skipif(not HAVE_EXTRA, reason='needs "visor-server[ocr-rapid]"')


@pytest.fixture(scope="module")
def offline() -> Iterator[None]:
    """Any socket connection during the module fails loudly (the models are local)."""
    real = socket.socket.connect

    def refuse(self: socket.socket, address: Any) -> None:
        if isinstance(address, tuple):  # network families; leave unix sockets alone
            raise AssertionError(f"ocr-rapid tried to reach the network: {address}")
        real(self, address)

    socket.socket.connect = refuse  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        socket.socket.connect = real  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def rapid(offline: None) -> Iterator[PluginHarness]:
    if not HAVE_EXTRA:
        pytest.skip('needs "visor-server[ocr-rapid]"')
    with PluginHarness("ocr-rapid") as harness:
        yield harness


@needs_extra
def test_reads_lines_with_boxes(rapid: PluginHarness) -> None:
    image, _ = render_lines(list(SENTENCES), 20)
    result = rapid.call("read_text", image_payload(image, level="words"))
    expected = normalise_words(" ".join(SENTENCES))
    assert set(expected) <= set(normalise_words(result["text"]))
    assert len(result["lines"]) == len(SENTENCES)
    first = result["lines"][0]
    assert len(first["polygon"]) == 4 and 0.5 < first["confidence"] <= 1.0
    assert first["box"][1] < result["lines"][1]["box"][1]
    assert [w["text"] for w in result["words"] if w["line"] == 0][:3] == ["The", "quick", "brown"]


@needs_extra
def test_uses_only_the_models_in_the_wheel(rapid: PluginHarness) -> None:
    models = bundle.bundled_models()
    spec = importlib.util.find_spec("rapidocr")
    assert spec is not None and spec.origin is not None
    assert models.directory.parent.samefile(__import__("pathlib").Path(spec.origin).parent)
    assert all(p.is_file() for p in (models.det, models.cls, models.rec))


@needs_extra
def test_a_download_attempt_is_a_plugin_error(rapid: PluginHarness) -> None:
    from rapidocr.utils.download_file import DownloadFile, DownloadFileInput

    bundle.forbid_downloads()
    import logging

    with pytest.raises(bundle.DownloadRefused, match="bundled"):
        DownloadFile.run(
            DownloadFileInput(
                file_url="https://example.invalid/model.onnx",
                save_path="/nonexistent/visor/model.onnx",
                logger=logging.getLogger("test"),
            )
        )


def test_without_the_extra_it_is_unavailable_with_the_install_hint(
    monkeypatch: pytest.MonkeyPatch, make_client: Any
) -> None:
    real_find_spec = importlib.util.find_spec

    def hide(name: str, *args: Any, **kwargs: Any) -> Any:
        return (
            None
            if name.split(".")[0] in ("rapidocr", "onnxruntime")
            else real_find_spec(name, *args, **kwargs)
        )

    monkeypatch.setattr(importlib.util, "find_spec", hide)
    with PluginHarness("ocr-rapid") as harness:
        assert harness.state("ocr-rapid") == "UNAVAILABLE"
        assert 'pip install -e "./server[ocr-rapid]"' in (harness.reason("ocr-rapid") or "")
        error = harness.error("ocr-rapid", {"image": b64(b"x")})
        assert error["type"] == "PluginError"
        assert error["details"]["code"] == "plugin_unavailable"

    # In-process, so the hidden modules are hidden from the constructor too (a worker
    # process would import the real, installed rapidocr).
    client = make_client(builtin_sources("ocr-rapid"), force_in_process=True)
    listed = {p["name"]: p for p in client.get("/v1/plugins").json()["plugins"]}
    assert listed["ocr-rapid"]["state"] == "UNAVAILABLE"
    assert "./server[ocr-rapid]" in listed["ocr-rapid"]["reason"]
    response = client.post("/v1/analyze", json={"plugin": "ocr-rapid", "image": b64(b"x")})
    assert response.status_code == 503


# -- reading order, orientation, size, limits ---------------------------------------------


@pytest.fixture(scope="module")
def columns_page() -> tuple[Any, str]:
    return render_page([[PARAGRAPHS[0]], [PARAGRAPHS[3]]], size=18, title="Spring notes")


@needs_extra
def test_columns_are_read_column_by_column(
    rapid: PluginHarness, columns_page: tuple[Any, str]
) -> None:
    page, text = columns_page
    result = rapid.call("read_text", image_payload(page))
    assert cer(text, result["text"]) < 0.01, result["text"]
    engine = rapid.call("read_text", image_payload(page, order="engine"))
    assert word_recall(text, engine["text"]) == 1.0  # every word there, but interleaved:
    assert cer(text, engine["text"]) > 0.3


@needs_extra
@pytest.mark.parametrize("degrees", [90, 180])
def test_turned_pages_are_read_upright(
    rapid: PluginHarness, columns_page: tuple[Any, str], degrees: int
) -> None:
    page, text = columns_page
    turned = turn(page, degrees)
    result = rapid.call("read_text", image_payload(turned, level="words"))
    assert result["orientation"] in ((360 - degrees) % 360, degrees)
    assert cer(text, result["text"]) < 0.02, result["text"]
    assert (result["width"], result["height"]) == turned.size
    for region in result["lines"] + result["words"]:  # on the image as it was sent
        x, y, w, h = region["box"]
        assert x >= 0 and x + w <= turned.width + 1 and y >= 0 and y + h <= turned.height + 1
    as_is = rapid.call("read_text", image_payload(turned, rotate=0))
    assert word_recall(text, as_is["text"]) < 0.5 or cer(text, as_is["text"]) > 0.3


@needs_extra
def test_small_text_on_a_tall_scan_is_found(rapid: PluginHarness) -> None:
    """A 604x4800 strip: a fixed 960 px detector shrinks its 22 px text to 4 px."""
    page, text = render_page([[PARAGRAPHS[0]]], size=22, column_width=484)
    tall = Image.new("L", (page.width, 4800), 255)
    tall.paste(page, (0, 2000))
    result = rapid.call("read_text", image_payload(tall))
    assert word_recall(text, result["text"]) >= 0.95, result["text"]
    fixed = rapid.call("read_text", image_payload(tall, detection_size=960))
    assert word_recall(text, fixed["text"]) < 0.3


@needs_extra
def test_words_and_the_item_limit(rapid: PluginHarness) -> None:
    image, _ = render_lines(list(SENTENCES), 24)
    result = rapid.call("read_text", image_payload(image, level="words", max_items=4))
    assert [w["text"] for w in result["words"]] == SENTENCES[0].split()[:4]
    assert result["truncated"] is True and len(result["lines"]) == 1
    assert result["text"].splitlines() == list(SENTENCES)
    error = rapid.error("read_text", image_payload(image, level="paragraphs"))
    assert error["details"]["code"] == "invalid_input"
