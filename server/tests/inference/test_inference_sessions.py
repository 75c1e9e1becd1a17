"""Session sizing, provider errors and NMS."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_graphs import constant_outputs_model

from app.errors import ErrorCode
from app.inference.errors import ProviderUnavailable
from app.inference.nms import batched_nms, nms
from app.inference.session import configured_threads, open_session, threads_per_worker
from app.settings import Settings


@pytest.mark.parametrize(
    ("workers", "cores", "threads"),
    [(1, 8, 8), (2, 8, 4), (3, 8, 2), (8, 8, 1), (16, 8, 1), (2, 2, 1), (1, 1, 1), (0, 4, 4)],
)
def test_workers_times_threads_never_exceeds_the_cores(workers, cores, threads) -> None:
    assert threads_per_worker(workers, cores) == threads
    assert max(1, workers) * threads <= cores or threads == 1


def test_threads_setting_overrides_the_division() -> None:
    settings = Settings(_env_file=None, onnx_threads=3)  # type: ignore[call-arg]
    assert configured_threads(settings, workers=64) == 3
    default = Settings(_env_file=None)  # type: ignore[call-arg]
    assert configured_threads(default, workers=1) == threads_per_worker(1)


def test_providers_setting_is_a_comma_separated_list(monkeypatch) -> None:
    monkeypatch.setenv("VISOR_ONNX_PROVIDERS", "CUDAExecutionProvider, CPUExecutionProvider")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.onnx_providers == ["CUDAExecutionProvider", "CPUExecutionProvider"]


def test_a_missing_provider_names_the_available_ones() -> None:
    model = constant_outputs_model([np.zeros((1, 2))])
    with pytest.raises(ProviderUnavailable) as caught:
        open_session(model, threads=1, providers=["NoSuchExecutionProvider"])
    error = caught.value
    assert error.code is ErrorCode.PLUGIN_UNAVAILABLE
    assert "NoSuchExecutionProvider" in error.message
    assert "CPUExecutionProvider" in error.message
    assert error.details["missing"] == ["NoSuchExecutionProvider"]


def test_a_session_is_sized_as_asked() -> None:
    model = constant_outputs_model([np.ones((1, 2))])
    session = open_session(model, threads=2)
    options = session.get_session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (2, 1)
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert session.get_providers() == ["CPUExecutionProvider"]


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 10.5]])
    scores = np.array([0.8, 0.9, 0.5, 0.7])
    assert nms(boxes, scores, iou=0.5).tolist() == [1, 2]
    assert nms(boxes, scores, iou=0.95).tolist() == [1, 0, 2]  # 0 and 3: IoU 0.952
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []


def test_batched_nms_suppresses_within_a_class_only() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10]], dtype=float)
    scores = np.array([0.9, 0.8, 0.7])
    assert batched_nms(boxes, scores, np.array([0, 0, 1]), iou=0.5).tolist() == [0, 2]
