"""Hostile and broken model files are refused with a clear reason; nothing is stored and
the server goes on serving."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_graphs import OPSET, constant_outputs_model, yolo_manifest, yolo_v5_model
from test_model_doors import CAT_BOX, photo, register

from app.models.checks import ModelRejected, check_model


def _model(nodes, inputs, outputs, initializers=(), domains=()) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "hostile", inputs, outputs, initializer=list(initializers))
    opsets = [helper.make_opsetid("", OPSET), *(helper.make_opsetid(d, 1) for d in domains)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    return model


IMAGES = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 320, 320])
OUT = helper.make_tensor_value_info("out", TensorProto.FLOAT, None)


def external_data(location: str) -> bytes:
    """A model whose weights are "in" another file."""
    weights = numpy_helper.from_array(np.ones((1, 1, 7), np.float32), "weights")
    weights.data_location = TensorProto.EXTERNAL
    weights.ClearField("raw_data")
    for key, value in (("location", location), ("offset", "0"), ("length", "28")):
        entry = weights.external_data.add()
        entry.key, entry.value = key, value
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Add", ["weights", "mean"], ["out"]),
    ]
    return _model(nodes, [IMAGES], [OUT], [weights]).SerializeToString()


def custom_op() -> bytes:
    nodes = [helper.make_node("Exfiltrate", ["images"], ["out"], domain="com.example.evil")]
    return _model(nodes, [IMAGES], [OUT], domains=["com.example.evil"]).SerializeToString()


def unbounded_allocation() -> bytes:
    """Asks for a 40,000 x 40,000 x 4 float tensor (25 GB) from its input's mean."""
    shape = numpy_helper.from_array(np.array([40_000, 40_000, 4], np.int64), "shape")
    nodes = [
        helper.make_node("Constant", [], ["shape"], value=shape),
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("ConstantOfShape", ["shape"], ["huge"]),
        helper.make_node("Add", ["huge", "mean"], ["bigger"]),
        helper.make_node("ReduceSum", ["bigger"], ["sum"], keepdims=1),
        helper.make_node("Reshape", ["sum", "flat"], ["out"]),
    ]
    flat = numpy_helper.from_array(np.array([1, 1, 1], np.int64), "flat")
    return _model(nodes, [IMAGES], [OUT], [flat]).SerializeToString()


def test_hostile_models_are_refused_and_the_server_goes_on(make_client, tmp_path) -> None:
    client = make_client([], workers_per_plugin=1, model_check_memory_mb=1024)
    good = yolo_v5_model([0.9, 0.1])
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(yolo_manifest(["cat", "dog"])))
    cases = {
        "not_onnx": b"MZ\x90\x00 this is a Windows program, not a model" * 20,
        "truncated": good[: len(good) // 2],
        "external_data": external_data("weights.bin"),
        "escaping external data": external_data("../../../../etc/passwd"),
        "unsupported_op": custom_op(),
        "memory_limit": unbounded_allocation(),
        "shape_mismatch": yolo_v5_model([0.9, 0.1, 0.3]),  # 3 classes, 2 labels
    }
    expected = {"truncated": "not_onnx", "escaping external data": "external_data"}
    for case, data in cases.items():
        path = tmp_path / f"{case}.onnx"
        path.write_bytes(data)
        answer = register(client, "hostile", path, manifest)
        assert answer.status_code == 400, (case, answer.text)
        error = answer.json()["error"]
        assert error["details"]["code"] == "invalid_input", case
        assert error["details"]["reason"] == expected.get(case, case), (case, error)
        assert "Traceback" not in answer.text and "/etc/passwd" not in error["message"]

    bad_manifest = tmp_path / "bad.json"
    bad_manifest.write_text(json.dumps(yolo_manifest(["cat"], task="classify")))
    answer = register(client, "hostile", tmp_path / "not_onnx.onnx", bad_manifest)
    assert answer.json()["error"]["details"]["reason"] == "invalid_manifest"
    assert "decoder family 'yolo' does not fit task 'classify'" in answer.text
    answer = register(client, "Bad Name", tmp_path / "not_onnx.onnx", manifest)
    assert answer.json()["error"]["details"]["reason"] == "invalid_manifest"

    # nothing was stored, and the server still registers and serves a good model
    assert client.get("/v1/models").json() == {"models": []}
    model_dir = tmp_path / "data" / "models"
    assert not any(p.name == "hostile" for p in model_dir.iterdir())
    good_path = tmp_path / "good.onnx"
    good_path.write_bytes(good)
    assert register(client, "cats", good_path, manifest).status_code == 201
    answer = client.post("/v1/analyze", json={"plugin": "cats", "image": photo()})
    assert answer.json()["result"]["detections"][0]["box"] == CAT_BOX


def test_too_large_is_refused_before_any_check(make_client, tmp_path) -> None:
    client = make_client([], model_max_bytes=1000)
    path = tmp_path / "big.onnx"
    path.write_bytes(b"\0" * 5000)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(yolo_manifest(["cat", "dog"])))
    answer = register(client, "big", path, manifest)
    assert answer.status_code == 400
    assert answer.json()["error"]["details"] == {
        "reason": "too_large",
        "limit_bytes": 1000,
        "code": "invalid_input",
    }


def test_a_check_that_runs_too_long_is_stopped(tmp_path) -> None:
    path = tmp_path / "slow.onnx"
    path.write_bytes(constant_outputs_model([np.zeros((1, 1, 7))], busy=400))
    manifest = json.dumps(yolo_manifest(["cat", "dog"]))
    with pytest.raises(ModelRejected) as caught:
        check_model(
            path, manifest, providers=["CPUExecutionProvider"], memory_limit_mb=0, timeout_s=0.5
        )
    assert caught.value.reason == "timeout"
