"""The built-ins as a server sees them: listed, with honest manifests, callable over HTTP."""

from __future__ import annotations

from typing import Any

import numpy as np
import zxingcpp
from builtin_samples import encode, render_lines
from helpers import b64, builtin_sources
from PIL import Image

BUILTINS = ("image_info", "ocr", "barcode", "faces", "people")


def test_builtins_are_listed_with_schemas_and_run_over_http(make_client: Any) -> None:
    client = make_client(builtin_sources(*BUILTINS, "ocr-rapid"))
    listed = {p["name"]: p for p in client.get("/v1/plugins").json()["plugins"]}
    assert set(BUILTINS) | {"ocr-rapid"} <= set(listed)
    for name in BUILTINS:
        assert listed[name]["state"] != "UNAVAILABLE", listed[name]
        manifest = client.get(f"/v1/plugins/{name}").json()
        for tool in manifest["tools"]:
            assert tool["description"]
            assert tool["output_schema"].get("properties"), (name, tool["name"])

    text, _ = render_lines(["Hello from Visor"], 28)
    response = client.post("/v1/analyze", json={"plugin": "ocr", "image": b64(encode(text))})
    assert response.status_code == 200, response.text
    assert response.json()["result"]["text"] == "Hello from Visor"

    qr = np.asarray(
        zxingcpp.create_barcode("over http", zxingcpp.BarcodeFormat.QRCode).to_image(scale=4)
    )
    response = client.post(
        "/v1/plugins/barcode/tools/read/run",
        files={"file": ("qr.png", encode(Image.fromarray(qr)), "image/png")},
    )
    assert response.status_code == 200, response.text
    assert response.json()["result"]["barcodes"][0]["text"] == "over http"

    response = client.post(
        "/v1/analyze",
        json={"plugin": "faces", "image": b64(encode(Image.new("RGB", (64, 64)))), "args": {}},
    )
    assert response.status_code == 200 and response.json()["result"]["count"] == 0

    response = client.post(
        "/v1/analyze", json={"plugin": "ocr", "tool": "read_words", "image": b64(b"junk")}
    )
    assert response.status_code == 400
