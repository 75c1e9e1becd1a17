"""Models dropped into the model directory are registered when the server starts."""

from __future__ import annotations

import json

from onnx_graphs import yolo_manifest, yolo_v5_model
from test_model_doors import CAT_BOX, photo


def test_drops_are_checked_and_served_at_start(make_client, tmp_path) -> None:
    model_dir = tmp_path / "data" / "models"
    model_dir.mkdir(parents=True)
    (model_dir / "cats.onnx").write_bytes(yolo_v5_model([0.9, 0.1]))
    (model_dir / "cats.yaml").write_text(json.dumps(yolo_manifest(["cat", "dog"])))
    (model_dir / "junk.onnx").write_bytes(b"not a model")
    (model_dir / "junk.json").write_text(json.dumps(yolo_manifest(["cat", "dog"])))

    client = make_client([], workers_per_plugin=1)

    answer = client.post("/v1/analyze", json={"plugin": "cats", "image": photo()})
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["detections"][0]["box"] == CAT_BOX
    assert [m["name"] for m in client.get("/v1/models").json()["models"]] == ["cats"]
    assert not (model_dir / "cats.onnx").exists()  # moved into the repository
    assert (model_dir / "cats" / "1" / "model.onnx").is_file()
    assert (model_dir / "junk.onnx.rejected").is_file()
    assert "not an ONNX model" in (model_dir / "junk.rejected.txt").read_text()
    assert client.get("/v1/plugins/junk").status_code == 404


def test_a_model_cannot_take_an_installed_plugins_name(make_client, tmp_path, detector) -> None:
    from helpers import builtin_sources
    from test_model_doors import register

    from app.models.manifest import Manifest
    from app.models.store import LocalModelStore

    model, manifest = detector
    store = LocalModelStore(tmp_path / "data" / "models")  # put there behind the server's back
    store.set_default("image_info", store.add("image_info", model, Manifest.model_validate_json(
        manifest.read_text())))  # fmt: skip
    client = make_client(
        builtin_sources("image_info"), plugin_isolation={"image_info": "in_process"}
    )

    plugins = {p["name"]: p for p in client.get("/v1/plugins").json()["plugins"]}
    assert plugins["image_info"]["state"] != "UNAVAILABLE"  # the installed plugin keeps it
    assert plugins["image_info@models"]["state"] == "UNAVAILABLE"
    assert "installed plugin" in plugins["image_info@models"]["reason"]

    answer = register(client, "image_info", model, manifest)  # a new version: refused too
    assert answer.status_code == 409, answer.text
    assert client.get("/v1/plugins/image_info/health").json()["version"] != "2"
