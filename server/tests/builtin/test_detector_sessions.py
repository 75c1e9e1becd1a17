"""The built-in detectors' onnxruntime sessions are sized with their plugin's worker count."""

from __future__ import annotations

import pytest

from app.inference.session import available_cores
from app.plugins.builtin.detection.sessions import open_model, worker_count
from app.plugins.builtin.faces.weights import WEIGHTS

MODEL = WEIGHTS / "mtcnn-pnet.onnx"


def _threads(session: object) -> int:
    return int(session.get_session_options().intra_op_num_threads)  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VISOR_PLUGIN_WORKERS", "VISOR_WORKERS_PER_PLUGIN", "VISOR_ONNX_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir("/")  # no .env file


def test_worker_count_follows_the_pool_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISOR_WORKERS_PER_PLUGIN", "3")
    assert worker_count("faces") == 3
    assert worker_count("faces", preferred=2) == 2  # the plugin's own preference wins
    monkeypatch.setenv("VISOR_PLUGIN_WORKERS", '{"faces": 5}')
    assert worker_count("faces", preferred=2) == 5  # the operator's per-plugin setting wins
    assert worker_count("people") == 3


def test_sessions_divide_the_cores_among_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    cores = available_cores()
    monkeypatch.setenv("VISOR_PLUGIN_WORKERS", '{"faces": 1}')
    assert _threads(open_model(MODEL, plugin="faces")) == cores  # one worker: every core
    monkeypatch.setenv("VISOR_PLUGIN_WORKERS", f'{{"faces": {2 * cores}}}')
    assert _threads(open_model(MODEL, plugin="faces")) == 1  # more workers than cores: one
    monkeypatch.setenv("VISOR_ONNX_THREADS", "3")
    assert _threads(open_model(MODEL, plugin="faces")) == 3  # the operator's override


def test_a_missing_execution_provider_is_a_clear_unavailable_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VISOR_ONNX_PROVIDERS", "NoSuchExecutionProvider")
    with pytest.raises(Exception) as caught:
        open_model(MODEL, plugin="faces")
    assert "NoSuchExecutionProvider" in str(caught.value)
    assert getattr(caught.value, "code", None) == "plugin_unavailable"
