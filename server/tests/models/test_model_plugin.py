"""A model's plugin for each task, through the real ToolRunner (schemas validated both
ways), with models stored directly in a repository (no registration check)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from helpers import png_bytes
from onnx_graphs import constant_outputs_model, yolo_manifest, yolo_v5_model
from test_model_doors import CAT_BOX

from app.models.manifest import Manifest
from app.models.plugin import ModelPluginConfig, plugin_class
from app.models.store import LocalModelStore
from app.plugins.testing import PluginHarness
from app.plugins.vocabulary import regions

IMAGE = {"image": __import__("base64").b64encode(png_bytes((640, 480))).decode()}


def stored(root: Path, name: str, model: bytes, manifest: dict) -> type:
    store = LocalModelStore(root)
    source = root / f"{name}.upload"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(model)
    store.set_default(name, store.add(name, source, Manifest.model_validate(manifest)))
    return plugin_class(ModelPluginConfig(str(root), name, 1, ("CPUExecutionProvider",)))


def test_classify(tmp_path) -> None:
    labels = ["cup", "cat", "rocket"]
    model = constant_outputs_model([np.log(np.array([[0.2, 0.7, 0.1]]))])
    manifest = {
        "task": "classify",
        "labels": labels,
        "input": {"width": 320, "height": 320, "resize": "stretch"},
        "decoder": {"family": "classify", "top_k": 2},
        "thresholds": {"score_threshold": 0.05},
    }
    with PluginHarness(stored(tmp_path, "kinds", model, manifest)) as harness:
        result = harness.call("kinds.classify", IMAGE)
        assert result["top"] == "cat"
        assert [(c["label"], c["confidence"]) for c in result["classes"]] == [
            ("cat", 0.7),
            ("cup", 0.2),
        ]
        only = harness.call("kinds.classify", {**IMAGE, "classes": ["cup"]})
        assert [c["label"] for c in only["classes"]] == ["cup"]


def test_keypoints(tmp_path) -> None:
    names = ["head", "tail"]
    row = [100.0, 115.0, 100.0, 100.0, 0.8, 100.0, 65.0, 0.9, 150.0, 165.0, 0.4]
    model = constant_outputs_model([np.array([row]).T[np.newaxis]])
    manifest = {
        "task": "keypoints",
        "labels": ["cat"],
        "input": {"width": 320, "height": 320},
        "decoder": {"family": "keypoints", "layout": "yolo_pose", "keypoint_names": names},
    }
    with PluginHarness(stored(tmp_path, "poses", model, manifest)) as harness:
        result = harness.call("poses", IMAGE)
        (cat,) = result["detections"]
        assert cat["box"] == CAT_BOX
        assert cat["keypoints"] == [
            {"name": "head", "point": [200, 50], "confidence": 0.9},
            {"name": "tail", "point": [300, 250], "confidence": 0.4},
        ]
        assert [r["box"] for r in regions(result)] == [CAT_BOX]  # the vocabulary's walk


def test_a_stored_model_that_does_not_fit_its_manifest_is_unavailable(tmp_path) -> None:
    """Stored without the registration check (or edited): it says why, once, and calls get
    plugin_unavailable, not a retried startup per call."""
    model = yolo_v5_model([0.9, 0.1, 0.3])  # three class scores, two labels
    plugin = stored(tmp_path, "broken", model, yolo_manifest(["cat", "dog"]))
    with PluginHarness(plugin) as harness:
        assert harness.state("broken").value == "UNAVAILABLE"
        assert "does not fit its manifest" in (harness.reason("broken") or "")
        error = harness.error("broken", IMAGE)
    assert (error["type"], error["details"]["code"]) == ("PluginError", "plugin_unavailable")


def test_unset_thresholds_follow_the_serving_versions_manifest(tmp_path) -> None:
    plugin = stored(tmp_path, "cats", yolo_v5_model([0.5, 0.1]), yolo_manifest(["cat", "dog"]))
    strict = yolo_manifest(["cat", "dog"], thresholds={"score_threshold": 0.6})
    with PluginHarness(plugin) as harness:
        assert harness.call("cats", IMAGE)["count"] == 1  # 0.5 >= 0.3
        stored(tmp_path, "cats", yolo_v5_model([0.5, 0.1]), strict)  # version 2, default
        result = harness.call("cats", {**IMAGE, "version": 2})
        assert result["count"] == 0  # 0.5 < 0.6, though the tool's schema still says 0.3
        assert harness.call("cats", {**IMAGE, "version": 2, "score_threshold": 0.4})["count"]


def test_segment(tmp_path) -> None:
    protos = np.full((1, 1, 80, 80), -8.0)
    protos[0, 0, 10:50, 8:45] = 8.0
    row = [100.0, 115.0, 100.0, 100.0, 0.9, 1.0]
    model = constant_outputs_model([np.array([row]).T[np.newaxis], protos])
    manifest = {
        "task": "segment",
        "labels": ["cat"],
        "input": {"width": 320, "height": 320},
        "decoder": {"family": "yolo_seg"},
    }
    with PluginHarness(stored(tmp_path, "outlines", model, manifest)) as harness:
        (cat,) = harness.call("outlines.segment", IMAGE)["detections"]
    assert cat["box"] == CAT_BOX
    assert cat["polygon"] == [[100, 50], [299, 50], [299, 249], [100, 249]]


def test_a_worker_keeps_few_versions_loaded(tmp_path) -> None:
    """Pinning every old version in turn does not load them all into one worker."""
    from app.models.plugin import MAX_LOADED_VERSIONS

    manifest = yolo_manifest(["cat", "dog"])
    for _ in range(5):
        plugin = stored(tmp_path, "cats", yolo_v5_model([0.9, 0.1]), manifest)
    with PluginHarness(plugin) as harness:
        for version in (1, 2, 3, 4, 1):
            assert (
                harness.call("cats", {**IMAGE, "version": version})["model"]["version"] == version
            )
        loaded = harness.registry.get("cats").instance._loaded
        assert len(loaded) == MAX_LOADED_VERSIONS
        assert {5, 1} <= set(loaded)  # the default and the last pinned
