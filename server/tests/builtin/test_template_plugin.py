"""The plugin template, installed as a package, found by its entry point and run end to end
through the real HTTP app (the template's own tests run as part of the suite too)."""

from __future__ import annotations

import base64
import io
from typing import Any

from helpers import b64
from PIL import Image

from app.plugins.loader.plugin_loader import discover


def _template_source() -> Any:
    sources = {s.key: s for s in discover()}
    assert "thumbnail" in sources, (
        "the plugin template is not installed: pip install -e ./examples/plugin-template"
    )
    source = sources["thumbnail"]
    assert source.distribution == "visor-thumbnail-plugin"
    return source


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize(size).save(buffer, "PNG")
    return buffer.getvalue()


def test_template_runs_through_the_http_app(make_client: Any) -> None:
    client = make_client([_template_source()])
    listed = {p["name"]: p for p in client.get("/v1/plugins").json()["plugins"]}
    assert listed["thumbnail"]["state"] != "UNAVAILABLE", listed["thumbnail"]

    manifest = client.get("/v1/plugins/thumbnail").json()
    tools = {t["name"]: t for t in manifest["tools"]}
    assert set(tools) == {"thumbnail", "histogram"}
    assert tools["thumbnail"]["input_schema"]["properties"]["max_side"]["maximum"] == 1024

    response = client.post(
        "/v1/analyze",
        json={"plugin": "thumbnail", "image": b64(_png((300, 150))), "args": {"max_side": 60}},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tool"] == "thumbnail"
    assert (body["result"]["width"], body["result"]["height"]) == (60, 30)
    thumb = Image.open(io.BytesIO(base64.b64decode(body["result"]["image"])))
    assert thumb.size == (60, 30)

    response = client.post(
        "/v1/plugins/thumbnail/tools/histogram/run",
        json={"image": b64(_png((32, 32))), "bins": 8},
    )
    assert response.status_code == 200, response.text
    assert sum(response.json()["result"]["counts"]) == 32 * 32

    response = client.post(
        "/v1/analyze",
        json={"plugin": "thumbnail", "image": b64(b"junk"), "args": {"max_side": 60}},
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["code"] == "invalid_input"
