"""The built-ins as a server sees them: listed, with honest manifests, callable over HTTP."""

from __future__ import annotations

from typing import Any

import numpy as np
import zxingcpp
from builtin_samples import encode, render_lines
from helpers import b64, builtin_sources
from PIL import Image

#: The astronaut's face in scikit-image's photo (test_faces.py) and herself (test_objects.py).
ASTRONAUT_FACE = (178, 75, 92, 105)
ASTRONAUT_PERSON = (20, 20, 340, 492)

BUILTINS = ("image_info", "ocr", "barcode", "faces", "people", "objects")


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


def test_learned_detectors_run_in_worker_processes_over_http(make_client: Any) -> None:
    """faces (MTCNN), objects (NanoDet) and people.pose (MoveNet) in real worker processes:
    each model loads in its worker's startup and answers over REST, by JSON and by upload."""
    from builtin_samples import box_tuple, iou
    from skimage import data

    client = make_client(builtin_sources("faces", "objects", "people"), workers_per_plugin=1)
    photo = encode(Image.fromarray(data.astronaut()))

    response = client.post("/v1/analyze", json={"plugin": "faces", "image": b64(photo)})
    assert response.status_code == 200, response.text
    faces = response.json()["result"]
    assert faces["detector"] == "mtcnn"
    assert [iou(box_tuple(f["box"]), ASTRONAUT_FACE) >= 0.6 for f in faces["faces"]] == [True]

    response = client.post(
        "/v1/plugins/objects/tools/detect/run",
        files={"file": ("astronaut.png", photo, "image/png")},
        data={"args": '{"classes": ["person"]}'},
    )
    assert response.status_code == 200, response.text
    found = response.json()["result"]["objects"]
    assert [(o["label"], iou(box_tuple(o["box"]), ASTRONAUT_PERSON) >= 0.7) for o in found] == [
        ("person", True)
    ]

    response = client.post(
        "/v1/analyze", json={"plugin": "people", "tool": "pose", "image": b64(photo)}
    )
    assert response.status_code == 200, response.text
    (person,) = response.json()["result"]["people"]
    nose = next(k for k in person["keypoints"] if k["name"] == "nose")
    x, y, w, h = ASTRONAUT_FACE
    assert x <= nose["point"][0] <= x + w and y <= nose["point"][1] <= y + h

    response = client.post(
        "/v1/analyze",
        json={"plugin": "objects", "image": b64(photo), "args": {"classes": ["unicorn"]}},
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["code"] == "invalid_input"
    health = {p["name"]: p["state"] for p in client.get("/v1/plugins").json()["plugins"]}
    assert {health[n] for n in ("faces", "objects", "people")} <= {"RUNNING", "INITIALIZED"}
