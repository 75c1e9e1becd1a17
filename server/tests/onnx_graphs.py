"""Small ONNX graphs built in tests with the ``onnx`` package: known outputs, real sessions.

:func:`constant_outputs_model` returns a model whose outputs are fixed arrays (each plus
0 x the input's mean, so the graph really reads its input and onnxruntime checks the
input's shape and type), which lets a test encode known boxes in any decoder's layout.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


def constant_outputs_model(
    outputs: Sequence[np.ndarray],
    *,
    input_shape: Sequence[int] = (1, 3, 320, 320),
    input_dtype: int = TensorProto.FLOAT,
    input_name: str = "images",
    busy: int = 0,
) -> bytes:
    """Serialized ONNX: ``input_name`` of ``input_shape`` in, ``outputs`` (float32) out.

    ``busy`` chains that many 512x512 matrix products into the graph (their result x 0
    joins the outputs), so each run costs real work without changing the outputs.
    """
    nodes = []
    if input_dtype == TensorProto.FLOAT:
        source = input_name
    else:
        nodes.append(helper.make_node("Cast", [input_name], ["as_float"], to=TensorProto.FLOAT))
        source = "as_float"
    nodes.append(helper.make_node("ReduceMean", [source], ["mean"], keepdims=0))
    nodes.append(
        helper.make_node(
            "Constant", [], ["zero"], value=numpy_helper.from_array(np.float32(0.0), "zero")
        )
    )
    nodes.append(helper.make_node("Mul", ["mean", "zero"], ["nothing"]))
    if busy:
        weights = numpy_helper.from_array(np.full((512, 512), 1e-3, np.float32), "weights")
        nodes.append(helper.make_node("Constant", [], ["weights"], value=weights))
        nodes.append(helper.make_node("Add", ["weights", "mean"], ["product0"]))
        for step in range(busy):
            nodes.append(
                helper.make_node("MatMul", [f"product{step}", "weights"], [f"product{step + 1}"])
            )
        nodes.append(helper.make_node("ReduceMean", [f"product{busy}"], ["busy"], keepdims=0))
        nodes.append(helper.make_node("Mul", ["busy", "zero"], ["busy0"]))
        nodes.append(helper.make_node("Add", ["nothing", "busy0"], ["nothing_busy"]))
    joined = "nothing_busy" if busy else "nothing"
    graph_outputs = []
    for index, array in enumerate(outputs):
        value = np.asarray(array, dtype=np.float32)
        const = f"const{index}"
        nodes.append(
            helper.make_node("Constant", [], [const], value=numpy_helper.from_array(value, const))
        )
        nodes.append(helper.make_node("Add", [const, joined], [f"output{index}"]))
        graph_outputs.append(
            helper.make_tensor_value_info(f"output{index}", TensorProto.FLOAT, list(value.shape))
        )
    graph = helper.make_graph(
        nodes,
        "known_outputs",
        [helper.make_tensor_value_info(input_name, input_dtype, list(input_shape))],
        graph_outputs,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def yolo_v5_model(
    label_scores: Sequence[float], *, box=(50.0, 65.0, 150.0, 165.0), busy: int = 0
) -> bytes:
    """A 320x320 YOLOv5-layout detector that finds one thing at ``box`` (model pixels)."""
    x1, y1, x2, y2 = box
    row = [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, 1.0, *label_scores]
    return constant_outputs_model([np.array([[row]])], busy=busy)


def yolo_manifest(labels: Sequence[str], **changes: object) -> dict[str, object]:
    """The manifest of :func:`yolo_v5_model`."""
    manifest: dict[str, object] = {
        "task": "detect",
        "labels": list(labels),
        "input": {"width": 320, "height": 320, "resize": "letterbox"},
        "decoder": {"family": "yolo", "layout": "v5"},
        "thresholds": {"score_threshold": 0.3, "iou": 0.5},
    }
    manifest.update(changes)
    return manifest


def conv_detector_model(*, pixels: int = 96, classes: int = 4, seed: int = 7) -> bytes:
    """A YOLOv8-layout detector with random convolution weights and a free batch dimension:
    what it finds depends on the image, and a batch of images runs in one session run."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    channels, source = 3, "images"
    for index, out in enumerate((8, 16)):
        weight = (rng.standard_normal((out, channels, 3, 3)) * 0.3).astype(np.float32)
        inits.append(numpy_helper.from_array(weight, f"w{index}"))
        nodes.append(
            helper.make_node(
                "Conv", [source, f"w{index}"], [f"c{index}"], pads=[1, 1, 1, 1], strides=[2, 2]
            )
        )
        nodes.append(helper.make_node("Relu", [f"c{index}"], [f"r{index}"]))
        channels, source = out, f"r{index}"
    cells = (pixels // 4) ** 2
    head = (rng.standard_normal((4 + classes, channels, 1, 1)) * 0.2).astype(np.float32)
    inits.append(numpy_helper.from_array(head, "head"))
    inits.append(numpy_helper.from_array(np.array([-1, 4 + classes, cells], np.int64), "shape"))
    nodes += [
        helper.make_node("Conv", [source, "head"], ["raw"]),
        helper.make_node("Sigmoid", ["raw"], ["squashed"]),
        helper.make_node("Reshape", ["squashed", "shape"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "conv_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, pixels, pixels])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["N", 4 + classes, cells])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()
