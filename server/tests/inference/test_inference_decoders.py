"""Every decoder family, end to end: known boxes encoded in a real ONNX model's outputs, run
by onnxruntime, decoded, and mapped back through letterbox/stretch to the original pixels."""

from __future__ import annotations

import base64
import io
import math

import numpy as np
import pytest
from onnx import TensorProto
from onnx_graphs import constant_outputs_model
from PIL import Image

from app.inference.decoders import (
    ClassifyParams,
    KeypointsParams,
    NanoDetParams,
    Postprocess,
    SsdParams,
    YoloParams,
    decode,
)
from app.inference.errors import ModelMismatch
from app.inference.geometry import Geometry, Resize, fit
from app.inference.session import open_session
from app.inference.tensor import ColorOrder, Layout, to_tensor
from app.plugins.builtin.pixels import to_rgb
from app.plugins.images import load_image

LABELS = ["cat", "dog"]
SIZE = (320, 320)
# A 640x480 photo letterboxed into 320x320: scale 0.5, 320x240, 40 px of padding on top.
ORIGINAL = {"cat": (100.0, 50.0, 300.0, 250.0), "dog": (400.0, 300.0, 560.0, 420.0)}
LETTERBOXED = {"cat": (50.0, 65.0, 150.0, 165.0), "dog": (200.0, 190.0, 280.0, 250.0)}
# The same photo stretched to 320x320: x halves, y scales by 2/3.
STRETCHED = {
    k: (x1 / 2, y1 * 2 / 3, x2 / 2, y2 * 2 / 3) for k, (x1, y1, x2, y2) in ORIGINAL.items()
}
POST = Postprocess(score_threshold=0.3, iou=0.5, max_detections=10)


def photo() -> np.ndarray:
    """640x480 RGB: grey, with a white cat box and a white dog box."""
    rgb = np.full((480, 640, 3), 60, dtype=np.uint8)
    for x1, y1, x2, y2 in ORIGINAL.values():
        rgb[int(y1) : int(y2), int(x1) : int(x2)] = 255
    return rgb


def run(model: bytes, rgb: np.ndarray, mode: Resize, **tensor_options) -> tuple[list, Geometry]:
    """Fit, tensorise and run the model as a plugin would: the raw outputs and the geometry."""
    fitted, geometry = fit(rgb, SIZE, mode)
    session = open_session(model, threads=1)
    feed = {session.get_inputs()[0].name: to_tensor(fitted, **tensor_options)}
    return session.run(None, feed), geometry


def mapped(found, geometry: Geometry) -> dict[str, tuple[float, ...]]:
    boxes = geometry.boxes_to_image(np.array([d.box for d in found]))
    return {d.label: tuple(box) for d, box in zip(found, boxes, strict=True)}


def assert_boxes(got: dict[str, tuple[float, ...]], want: dict[str, tuple[float, ...]]) -> None:
    assert set(got) == set(want)
    for label, box in want.items():
        assert got[label] == pytest.approx(box, abs=1e-3), label


def cxcywh(box: tuple[float, float, float, float]) -> list[float]:
    x1, y1, x2, y2 = box
    return [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1]


def test_yolo_v5_layout_letterboxed() -> None:
    cat, dog = LETTERBOXED["cat"], LETTERBOXED["dog"]
    rows = [
        [*cxcywh(cat), 0.9, 0.95, 0.05],  # cat: 0.9 x 0.95
        [*cxcywh(dog), 0.8, 0.1, 0.9],  # dog: 0.8 x 0.9
        [*cxcywh((52, 66, 151, 166)), 0.85, 0.9, 0.0],  # a weaker duplicate of the cat: NMS
        [*cxcywh((10, 10, 40, 40)), 0.2, 0.9, 0.1],  # below the threshold
    ]
    model = constant_outputs_model([np.array([rows])])
    outputs, geometry = run(model, photo(), Resize.LETTERBOX)
    found = decode(outputs, YoloParams(layout="v5"), POST, LABELS, SIZE)
    assert [d.label for d in found] == ["cat", "dog"]
    assert found[0].confidence == pytest.approx(0.855, abs=1e-5)
    assert_boxes(mapped(found, geometry), ORIGINAL)


def test_yolo_v8_layout_stretched_and_normalised() -> None:
    cat, dog = STRETCHED["cat"], STRETCHED["dog"]
    columns = [[*cxcywh(cat), 0.7, 0.1], [*cxcywh(dog), 0.2, 0.6]]
    table = np.array(columns, dtype=np.float64)
    table[:, [0, 2]] /= SIZE[0]
    table[:, [1, 3]] /= SIZE[1]
    model = constant_outputs_model([table.T[np.newaxis]])  # [1, 4 + C, N]
    outputs, geometry = run(model, photo(), Resize.STRETCH)
    found = decode(outputs, YoloParams(layout="v11", normalized=True), POST, LABELS, SIZE)
    assert [(d.label, round(d.confidence, 3)) for d in found] == [("cat", 0.7), ("dog", 0.6)]
    assert_boxes(mapped(found, geometry), ORIGINAL)


def distribution(distance: float, bins: int) -> list[float]:
    """Logits whose softmax has the expected value ``distance`` (in stride units)."""
    low = math.floor(distance)
    frac = distance - low
    probs = np.full(bins, 1e-30)
    probs[low] += 1 - frac
    if frac:
        probs[low + 1] += frac
    return list(np.log(probs))


def nanodet_outputs(bins: int = 8) -> list[np.ndarray]:
    """Per stride (8, 16, 32) class scores [1, N, 2] and distributions [1, N, 4 * bins]."""
    cells = {8: 40, 16: 20, 32: 10}
    scores = {s: np.zeros((n * n, 2)) for s, n in cells.items()}
    dists = {s: np.tile(distribution(0.5, bins) * 4, (n * n, 1)) for s, n in cells.items()}
    # The cat from the cell (6, 7) of stride 16, centre (104, 120); the dog from cell
    # (7, 6) of stride 32, centre (240, 208).
    for stride, (col, row), label, box in ((16, (6, 7), 0, "cat"), (32, (7, 6), 1, "dog")):
        x1, y1, x2, y2 = LETTERBOXED[box]
        cx, cy = (col + 0.5) * stride, (row + 0.5) * stride
        sides = [(cx - x1) / stride, (cy - y1) / stride, (x2 - cx) / stride, (y2 - cy) / stride]
        index = row * cells[stride] + col
        dists[stride][index] = [v for d in sides for v in distribution(d, bins)]
        scores[stride][index, label] = 0.8
    return [a[np.newaxis] for s in (8, 16, 32) for a in (scores[s], dists[s])]


def test_nanodet_per_stride_outputs_in_any_order() -> None:
    outputs = nanodet_outputs()
    shuffled = [outputs[i] for i in (5, 2, 0, 3, 1, 4)]
    model = constant_outputs_model(shuffled)
    raw, geometry = run(model, photo(), Resize.LETTERBOX, color=ColorOrder.BGR)
    found = decode(raw, NanoDetParams(bins=8), POST, LABELS, SIZE)
    assert sorted(d.label for d in found) == ["cat", "dog"]
    assert_boxes(mapped(found, geometry), ORIGINAL)


def test_nanodet_one_concatenated_output_with_logits() -> None:
    outputs = nanodet_outputs()
    scores = np.concatenate([outputs[i][0] for i in (0, 2, 4)])
    logits = np.log(np.clip(scores, 1e-6, None) / np.clip(1 - scores, 1e-6, None))
    table = np.concatenate([logits, np.concatenate([outputs[i][0] for i in (1, 3, 5)])], axis=1)
    model = constant_outputs_model([table[np.newaxis]])
    raw, geometry = run(model, photo(), Resize.LETTERBOX)
    params = NanoDetParams(bins=8, class_activation="sigmoid")
    found = decode(raw, params, POST, LABELS, SIZE)
    assert {d.label: round(d.confidence, 3) for d in found} == {"cat": 0.8, "dog": 0.8}
    assert_boxes(mapped(found, geometry), ORIGINAL)


def test_ssd_with_the_tf_box_coder() -> None:
    anchors = [(0.5, 0.5, 0.2, 0.2), (0.3, 0.3, 0.4, 0.3), (0.7, 0.75, 0.2, 0.25)]
    encodings, logits = [], []
    for anchor, target in zip(anchors, (None, "cat", "dog"), strict=True):
        ya, xa, ha, wa = anchor
        if target is None:
            encodings.append([0.0, 0.0, 0.0, 0.0])
            logits.append([5.0, -5.0, -5.0])  # background
            continue
        x1, y1, x2, y2 = (v / 320 for v in LETTERBOXED[target])
        yc, xc, h, w = (y1 + y2) / 2, (x1 + x2) / 2, y2 - y1, x2 - x1
        encodings.append([(yc - ya) / ha * 10, (xc - xa) / wa * 10, math.log(h / ha) * 5,
                          math.log(w / wa) * 5])  # fmt: skip
        logits.append([-5.0, 4.0, -4.0] if target == "cat" else [-5.0, -4.0, 4.0])
    model = constant_outputs_model([np.array([logits]), np.array([encodings])])
    raw, geometry = run(model, photo(), Resize.LETTERBOX)
    found = decode(raw, SsdParams(anchors=anchors), POST, LABELS, SIZE)
    assert sorted(d.label for d in found) == ["cat", "dog"]
    assert_boxes(mapped(found, geometry), ORIGINAL)


def test_classification_top_k() -> None:
    labels = ["cup", "cat", "dog", "rocket"]
    model = constant_outputs_model([np.log(np.array([[0.1, 0.6, 0.25, 0.05]]))])
    raw, _ = run(model, photo(), Resize.STRETCH)
    post = Postprocess(score_threshold=0.07)
    found = decode(raw, ClassifyParams(top_k=3), post, labels, SIZE)
    assert [(c.label, round(c.confidence, 3)) for c in found] == [
        ("cat", 0.6),
        ("dog", 0.25),
        ("cup", 0.1),
    ]


def test_yolo_pose_keypoints_map_back() -> None:
    names = ["head", "left_hand", "right_hand"]
    cat = LETTERBOXED["cat"]
    # Points at the box's top centre, left middle, right middle (model pixels).
    points = [(100.0, 65.0, 0.9), (50.0, 115.0, 0.8), (150.0, 115.0, 0.1)]
    row = cxcywh(cat) + [0.9] + [v for p in points for v in p]
    model = constant_outputs_model([np.array([row]).T[np.newaxis]])
    raw, geometry = run(model, photo(), Resize.LETTERBOX)
    params = KeypointsParams(keypoint_names=names)
    (person,) = decode(raw, params, POST, ["person"], SIZE)
    assert geometry.boxes_to_image(np.array([person.box]))[0] == pytest.approx(ORIGINAL["cat"])
    assert person.keypoints is not None
    xy = geometry.points_to_image(person.keypoints[:, :2])
    assert xy.tolist() == [[200.0, 50.0], [100.0, 150.0], [300.0, 150.0]]
    assert person.keypoints[:, 2].tolist() == pytest.approx([0.9, 0.8, 0.1])


def test_movenet_layout_from_an_int32_nhwc_model() -> None:
    x1, y1, x2, y2 = (v / 320 for v in LETTERBOXED["dog"])
    people = np.zeros((6, 17 * 3 + 5))
    people[0, :51] = np.tile([y1, x1, 0.7], 17)  # every point at the box's top-left
    people[0, 51:] = [y1, x1, y2, x2, 0.6]
    model = constant_outputs_model(
        [people[np.newaxis]], input_shape=(1, 320, 320, 3), input_dtype=TensorProto.INT32
    )
    raw, geometry = run(model, photo(), Resize.LETTERBOX, layout=Layout.NHWC, dtype=np.int32)
    (person,) = decode(raw, KeypointsParams(layout="movenet"), POST, ["person"], SIZE)
    assert geometry.boxes_to_image(np.array([person.box]))[0] == pytest.approx(ORIGINAL["dog"])
    assert person.keypoints is not None
    assert geometry.points_to_image(person.keypoints[:, :2])[0] == pytest.approx((400, 300))


def exif_rotated_jpeg(displayed: np.ndarray) -> str:
    """A JPEG stored on its side with EXIF orientation 6 (turn 90 degrees clockwise to view)."""
    stored = Image.fromarray(displayed).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    return base64.b64encode(buffer.getvalue()).decode()


def test_exif_rotated_photo_maps_to_displayed_pixels() -> None:
    image = load_image({"image": exif_rotated_jpeg(photo()), "mime_type": "image/jpeg"})
    assert image.size == (480, 640)  # stored on its side
    rgb = to_rgb(image)  # displayed: EXIF orientation applied
    assert rgb.shape == (480, 640, 3)
    fitted, geometry = fit(rgb, SIZE, Resize.LETTERBOX)
    x1, y1, x2, y2 = (int(v) for v in LETTERBOXED["cat"])
    assert fitted[y1 + 2 : y2 - 2, x1 + 2 : x2 - 2].mean() > 240  # the cat is where expected
    assert fitted[:38].mean() == pytest.approx(114)  # the padding above
    rows = [[*cxcywh(LETTERBOXED["cat"]), 0.9, 0.9, 0.1]]
    model = constant_outputs_model([np.array([rows])])
    session = open_session(model, threads=1)
    raw = session.run(None, {"images": to_tensor(fitted)})
    found = decode(raw, YoloParams(layout="v5"), POST, LABELS, SIZE)
    assert_boxes(mapped(found, geometry), {"cat": ORIGINAL["cat"]})


def test_boxes_beyond_the_image_are_clipped() -> None:
    _, geometry = fit(photo(), SIZE, Resize.LETTERBOX)
    box = geometry.boxes_to_image(np.array([[-20.0, 10.0, 400.0, 300.0]]))[0]
    assert box.tolist() == [0.0, 0.0, 640.0, 480.0]


@pytest.mark.parametrize(
    ("params", "shape"),
    [
        (YoloParams(layout="v5"), (1, 4, 9)),  # 9 values: 5 + 4 classes, not 2
        (YoloParams(layout="v8"), (1, 7, 5)),
        (NanoDetParams(bins=8), (1, 100, 34)),
        (KeypointsParams(), (1, 10, 20)),
    ],
)
def test_outputs_that_do_not_fit_the_decoder_are_refused(params, shape) -> None:
    with pytest.raises(ModelMismatch) as caught:
        decode([np.zeros(shape, np.float32)], params, POST, LABELS, SIZE)
    assert str(list(shape)) in caught.value.message


def test_yolo_seg_masks_map_back_to_the_image() -> None:
    from app.inference.decoders import SegmentParams
    from app.models.outline import polygon

    protos = np.full((1, 1, 80, 80), -8.0)
    protos[0, 0, 10:50, 8:45] = 8.0  # wider than the cat: the box trims the mask
    row = [*cxcywh(LETTERBOXED["cat"]), 0.9, 0.1, 1.0]
    model = constant_outputs_model([np.array([row]).T[np.newaxis], protos])
    raw, geometry = run(model, photo(), Resize.LETTERBOX)
    (cat,) = decode(raw, SegmentParams(), POST, LABELS, SIZE)
    assert cat.mask is not None and cat.mask.shape == (320, 320)
    mask = geometry.mask_to_image(cat.mask)
    assert mask.shape == (480, 640)
    ys, xs = np.nonzero(mask)
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (100, 50, 300, 250)
    outline = polygon(mask)
    assert outline is not None and outline[0] == [100, 50]  # clockwise from the top-left
    assert sorted(map(tuple, outline)) == [(100, 50), (100, 249), (299, 50), (299, 249)]
    assert outline[1] == [299, 50]
