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
