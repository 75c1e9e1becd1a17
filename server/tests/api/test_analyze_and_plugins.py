"""The REST surface: analyze, run by path (JSON and multipart), plugins, health, metrics."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import b64, builtin_sources, plugin_sources, png_bytes
from PIL import Image


@pytest.fixture
def client(make_client: Any) -> TestClient:
    sources = [*builtin_sources("image_info"), *plugin_sources("echo", "raises", "import_fails")]
    client: TestClient = make_client(sources)
    return client


def _noisy_png() -> bytes:
    import os

    image = Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3))
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (120, 80), (30, 60, 200))
    exif = Image.Exif()
    exif[0x010F] = "VisorCam"  # Make
    exif[0x0110] = "Model 7"  # Model
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif, quality=95)
    return buf.getvalue()


def test_analyze_image_info(client: TestClient) -> None:
    response = client.post(
        "/v1/analyze",
        json={
            "plugin": "image_info",
            "image": b64(png_bytes((40, 30), (250, 0, 0))),
            "mime_type": "image/png",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"result", "plugin", "tool", "elapsed_ms"}
    assert (body["plugin"], body["tool"]) == ("image_info", "describe")
    result = body["result"]
    assert (result["format"], result["width"], result["height"]) == ("PNG", 40, 30)
    assert result["mean_color"]["hex"] == "#fa0000"
    assert result["dominant_colors"][0]["fraction"] == 1.0
    assert result["sharpness"] == 0.0
    assert body["elapsed_ms"] > 0
    assert response.headers["x-request-id"]


def test_analyze_sniffs_the_mime_type_and_reads_exif(client: TestClient) -> None:
    response = client.post(
        "/v1/analyze", json={"plugin": "image_info", "image": b64(_jpeg_with_exif())}
    )
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert result["format"] == "JPEG"
    assert result["exif"]["Make"] == "VisorCam"
    assert result["exif"]["Model"] == "Model 7"


@pytest.mark.parametrize(
    ("image", "mime", "fragment"),
    [
        ("not base64!!", "image/png", "base64"),
        (b64(_noisy_png()[:3000]), "image/png", "truncated"),
        (b64(b"GIF89a garbage"), "image/gif", "decoded"),
        (b64(png_bytes()), "application/pdf", "mime type"),
        ("", "image/png", "is empty"),
    ],
)
def test_bad_images_are_validation_errors(
    client: TestClient, image: str, mime: str, fragment: str
) -> None:
    response = client.post(
        "/v1/analyze", json={"plugin": "image_info", "image": image, "mime_type": mime}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["type"], error["details"]["code"]) == ("ValidationError", "invalid_input")
    assert fragment in error["message"]


def test_decompression_bomb_is_refused(make_client: Any) -> None:
    import os

    os.environ["VISOR_MAX_IMAGE_PIXELS"] = "1000000"
    try:
        client = make_client(builtin_sources("image_info"))
        big = Image.new("1", (4000, 4000))  # 16 MP of zeros compresses to almost nothing
        buf = io.BytesIO()
        big.save(buf, "PNG")
        assert len(buf.getvalue()) < 10_000
        response = client.post(
            "/v1/analyze", json={"plugin": "image_info", "image": b64(buf.getvalue())}
        )
    finally:
        del os.environ["VISOR_MAX_IMAGE_PIXELS"]
    assert response.status_code == 400
    assert "limit" in response.json()["error"]["message"]


def test_run_by_path_with_json_and_multipart(client: TestClient) -> None:
    response = client.post("/v1/plugins/echo/tools/echo/run", json={"text": "by path"})
    assert response.status_code == 200
    assert response.json()["result"]["text"] == "by path"
    assert response.json()["tool"] == "echo"

    files = {"file": ("red.png", png_bytes((9, 7)), "image/png")}
    response = client.post(
        "/v1/plugins/image_info/tools/describe/run",
        files=files,
        data={"args": '{"dominant_colors": 2}'},
    )
    assert response.status_code == 200, response.text
    assert (response.json()["result"]["width"], response.json()["result"]["height"]) == (9, 7)

    # no declared type: sniffed from the bytes
    files = {"file": ("x", _jpeg_with_exif(), "application/octet-stream")}
    response = client.post("/v1/plugins/image_info/tools/describe/run", files=files)
    assert response.json()["result"]["format"] == "JPEG"

    response = client.post(
        "/v1/plugins/image_info/tools/describe/run", files={"other": ("a", b"x")}
    )
    assert response.status_code == 400
    response = client.post(
        "/v1/plugins/image_info/tools/describe/run",
        files={"file": ("a.png", png_bytes(), "image/png")},
        data={"args": "[1"},
    )
    assert response.status_code == 400
    assert "args" in response.json()["error"]["message"]


def test_plugin_list_shows_states_reasons_and_metrics(client: TestClient) -> None:
    client.post("/v1/analyze", json={"plugin": "echo", "args": {"text": "x"}})
    client.post("/v1/analyze", json={"plugin": "raises"})
    plugins = {p["name"]: p for p in client.get("/v1/plugins").json()["plugins"]}
    assert set(plugins) == {"image_info", "echo", "raises", "import_fails"}
    assert plugins["echo"]["state"] == "RUNNING"
    assert plugins["echo"]["success_count"] == 1
    assert plugins["raises"]["error_count"] == 1
    assert plugins["raises"]["state"] == "INITIALIZED"  # an ordinary error never took it down
    assert plugins["import_fails"]["state"] == "UNAVAILABLE"
    assert "No module named" in plugins["import_fails"]["reason"]
    assert plugins["image_info"]["state"] == "INITIALIZED"


def test_manifest_and_health(client: TestClient) -> None:
    manifest = client.get("/v1/plugins/image_info").json()
    assert manifest["default_tool"] == "describe"
    tool = manifest["tools"][0]
    assert tool["name"] == "describe"
    assert "image" in tool["input_schema"]["properties"]
    assert tool["input_schema"]["required"] == ["image"]
    assert "dominant_colors" in tool["output_schema"]["properties"]
    health = client.get("/v1/plugins/image_info/health").json()
    assert health["name"] == "image_info"
    assert health["uptime_seconds"] >= 0
    assert client.get("/v1/plugins/nope").status_code == 404
    assert (
        client.get("/v1/plugins/nope/health").json()["error"]["details"]["code"]
        == "plugin_not_found"
    )


def test_reload_rediscovers(client: TestClient) -> None:
    client.post("/v1/analyze", json={"plugin": "echo", "args": {"text": "x"}})
    response = client.post("/v1/plugins/reload")
    assert response.status_code == 200
    plugins = {p["name"]: p for p in response.json()["plugins"]}
    assert plugins["echo"]["success_count"] == 0  # fresh records
    assert (
        client.post("/v1/analyze", json={"plugin": "echo", "args": {"text": "again"}}).status_code
        == 200
    )


def test_liveness_and_readiness(client: TestClient) -> None:
    assert client.get("/v1/health").json() == {"status": "ok"}
    ready = client.get("/v1/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["plugins"]["UNAVAILABLE"] == 1


def test_prometheus_metrics(client: TestClient) -> None:
    client.post("/v1/analyze", json={"plugin": "echo", "args": {"text": "x"}})
    client.post("/v1/analyze", json={"plugin": "raises"})
    client.post("/v1/analyze", json={"plugin": "no-such-plugin-" + "x" * 50})
    client.post("/v1/analyze", json={"plugin": "echo", "args": {"text": 5}})
    text = client.get("/metrics").text
    # The caller's mistake is not the plugin's error: its own outcome, not ERROR.
    assert (
        'visor_tool_calls_total{code="invalid_input",outcome="INVALID_INPUT",plugin="echo",'
        'tool="echo"} 1.0' in text
    )
    assert 'visor_tool_calls_total{code="",outcome="SUCCESS",plugin="echo",tool="echo"} 1.0' in text
    assert (
        'visor_tool_calls_total{code="tool_error",outcome="ERROR",plugin="raises",tool="boom"} 1.0'
        in text
    )
    assert 'plugin="_unknown"' in text and "no-such-plugin" not in text
    assert 'visor_tool_duration_seconds_count{plugin="echo",tool="echo"} 2.0' in text
    assert 'visor_plugins{state="UNAVAILABLE"} 1.0' in text


def test_openapi_documents_real_models(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    analyze = spec["paths"]["/v1/analyze"]["post"]
    assert analyze["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "AnalyzeResponse"
    )
    for status in ("400", "404", "500", "503", "504"):
        ref = analyze["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("ErrorResponse")
    schemas = spec["components"]["schemas"]
    assert set(schemas["ErrorInfo"]["properties"]) == {
        "type",
        "message",
        "details",
        "plugin",
        "timestamp",
    }
    run = spec["paths"]["/v1/plugins/{plugin}/tools/{tool}/run"]["post"]
    assert set(run["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert "PluginHealth" in schemas
