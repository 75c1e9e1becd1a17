"""ocr-rapid: reads text with only the bundled models, never the network; without the
extra it is listed UNAVAILABLE with the install command."""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from builtin_samples import SENTENCES, normalise_words, render_lines, word_recall
from helpers import b64, builtin_sources

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
    assert word_recall(expected, normalise_words(result["text"])) >= 0.95
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
