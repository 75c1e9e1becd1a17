"""What a newcomer sends wrong gets an answer that says how to send it right (issue 29).

The upload part named ``image``, limits named by their setting in human units, YAML
errors with a line and column, and files that are no video refused at video submit.
"""

from __future__ import annotations

import io
import logging
import os
import re
import struct
import zlib
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import b64, builtin_sources, plugin_sources, png_bytes
from PIL import Image

RUN = "/v1/plugins/image_info/tools/describe/run"


@pytest.fixture
def client(make_client: Any) -> TestClient:
    client: TestClient = make_client(builtin_sources("image_info"), max_request_bytes=64 * 1024)
    return client


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def test_the_upload_part_may_be_named_image(client: TestClient) -> None:
    image = {"image": ("red.png", png_bytes((9, 7)), "image/png")}
    answer = client.post(RUN, files=image)
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["width"] == 9
    job = client.post("/v1/jobs?wait=30", data={"plugin": "image_info"}, files=image)
    assert job.status_code == 200, job.text
    assert job.json()["status"] == "SUCCESS"
    uploaded = client.post("/v1/files", files=image)
    assert uploaded.status_code == 201, uploaded.text


def test_a_wrong_upload_part_is_named_with_the_expected_one(client: TestClient) -> None:
    error = _error(client.post(RUN, files={"photo": ("a.png", png_bytes(), "image/png")}), 400)
    assert error["details"]["code"] == "invalid_input"
    assert "'photo'" in error["message"] and "name it 'file'" in error["message"]
    assert error["details"]["expected_part"] == "file"

    error = _error(client.post(RUN, files={"image": (None, "not a file")}), 400)
    assert "text, not a file" in error["message"] and "-F file=@" in error["message"]

    two = [("file", ("a.png", png_bytes(), "image/png")), ("image", ("b.png", png_bytes(), "x"))]
    error = _error(client.post(RUN, files=two), 400)
    assert "send one file" in error["message"]


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (no pixel data follows)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_limit_errors_name_their_setting_in_human_units(
    make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VISOR_MAX_IMAGE_PIXELS", "1000000")
    client = make_client(builtin_sources("image_info"), max_image_bytes=2048)
    noise = io.BytesIO()
    Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3)).save(noise, "PNG")
    big = noise.getvalue()  # incompressible: about 12 KiB
    body = {"plugin": "image_info", "image": b64(big), "mime_type": "image/png"}
    error = _error(client.post("/v1/analyze", json=body), 413)
    assert "VISOR_MAX_IMAGE_BYTES" in error["message"] and "2 KiB" in error["message"]
    assert error["details"]["setting"] == "VISOR_MAX_IMAGE_BYTES"

    bomb = _png_header(20_000, 10_000)  # 200 MP: Pillow's own guard fires first
    error = _error(client.post("/v1/analyze", json={**body, "image": b64(bomb)}), 400)
    assert "200 megapixels" in error["message"], error["message"]
    assert "the limit is 1 megapixels (VISOR_MAX_IMAGE_PIXELS)" in error["message"]
    assert error["details"]["pixels"] == 200_000_000

    wide = _png_header(2000, 1000)  # over VISOR_MAX_IMAGE_PIXELS, under Pillow's guard
    error = _error(client.post("/v1/analyze", json={**body, "image": b64(wide)}), 400)
    assert "2000x1000 pixels (2 megapixels)" in error["message"], error["message"]
    assert "VISOR_MAX_IMAGE_PIXELS" in error["message"]


def test_a_body_over_the_limit_names_the_setting(client: TestClient) -> None:
    error = _error(client.post("/v1/analyze", content=b"x" * (65 * 1024)), 413)
    assert error["message"] == "request body exceeds 64 KiB (VISOR_MAX_REQUEST_BYTES)"
    assert error["details"]["setting"] == "VISOR_MAX_REQUEST_BYTES"


def test_yaml_errors_say_where(client: TestClient) -> None:
    text = "name: broken\nsteps:\n  - id: a\n    tool: image_info\n   args: [1\n"
    response = client.post(
        "/v1/pipelines", content=text, headers={"content-type": "application/yaml"}
    )
    error = _error(response, 400)
    assert "line 5, column" in error["message"], error["message"]
    assert error["details"]["line"] == 5 and error["details"]["column"] >= 1


@pytest.mark.parametrize(
    ("content", "said"),
    [(png_bytes(), "is an image (image/png), not a video"), (b"just notes\n", "like text")],
    ids=["png", "text"],
)
def test_video_submit_refuses_a_file_that_is_no_video(
    client: TestClient, content: bytes, said: str
) -> None:
    response = client.post(
        "/v1/video/jobs", data={"plugin": "image_info"}, files={"file": ("x.bin", content)}
    )
    error = _error(response, 400)
    assert said in error["message"], error["message"]
    assert error["details"]["field"] == "video"
    assert client.get("/v1/jobs").json()["jobs"] == []  # nothing was accepted


def test_user_mistakes_and_bad_output_log_one_line_without_a_traceback(
    make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A too-large image is the caller's mistake; an invalid output is the plugin's, and
    the traceback would only show Visor's own output check: neither logs one."""
    sources = [*builtin_sources("image_info"), *plugin_sources("bad_output")]
    client = make_client(sources, max_image_bytes=2048)
    runner = logging.getLogger("visor.runner")
    runner.addHandler(caplog.handler)  # "visor" does not propagate once the app set it up
    caplog.set_level(logging.DEBUG, logger="visor.runner")
    try:
        noise = io.BytesIO()
        Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3)).save(noise, "PNG")
        big = {"plugin": "image_info", "image": b64(noise.getvalue())}
        assert client.post("/v1/analyze", json=big).status_code == 413
        assert client.post("/v1/analyze", json={"plugin": "bad_output"}).status_code == 500
    finally:
        runner.removeHandler(caplog.handler)
    failures = {
        found.group(1): record
        for record in caplog.records
        if record.name == "visor.runner"
        and (found := re.search(r" failed: \w+/(\w+): ", record.getMessage()))
    }
    assert failures["payload_too_large"].levelno == logging.INFO
    assert "bad_output" in failures["invalid_output"].getMessage()
    for record in failures.values():
        assert "Traceback" not in record.getMessage(), record.getMessage()
