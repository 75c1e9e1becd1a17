"""Decoded frames handed to a tool with the call (app.plugins.frames): through a worker's
pipe, alone and in a batch, and in-process; a reference without its attachment is only
the 1x1 PNG it is."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batching_plugins import MeasurePlugin
from isolation_helpers import Stack, eventually

from app.plugins.frames import Pixels, reference
from app.plugins.images import load_image
from app.plugins.loader.plugin_loader import load_plugins, source_for_class
from app.plugins.loader.plugin_registry import PluginRegistry, PluginState
from app.plugins.runtime.executor import CallContext, call_context
from app.plugins.runtime.in_process import InProcessExecutor
from app.plugins.runtime.process import ProcessExecutor, ProcessOptions
from app.plugins.runtime.tool_runner import ToolRunner

pytestmark = pytest.mark.slow


def _pixels(width: int, height: int, value: int) -> Pixels:
    return Pixels(width, height, bytes([value, 0, 255 - value]) * (width * height))


def _frame(name: str, pixels: Pixels) -> tuple[dict[str, Any], CallContext]:
    ref = reference(name)
    return {"image": ref}, CallContext(attachments={ref: pixels})


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    registry = PluginRegistry()
    registry.replace_all(load_plugins([source_for_class(MeasurePlugin)]))
    executor = ProcessExecutor(ProcessOptions(circuit_failures=1000), registry=registry)
    for record in registry.records():
        executor.start_plugin(record)
        registry.transition(record.name, PluginState.INITIALIZED, only_from={PluginState.LOADED})
    yield Stack(registry, executor, ToolRunner(registry=registry, executor=executor))
    executor.shutdown(2)


def test_a_frame_reaches_the_worker_as_pixels(stack: Stack) -> None:
    payload, ctx = _frame("job-1", _pixels(64, 48, 10))
    with call_context(ctx):
        result, error = stack.run("measure", "size", payload)
    assert error == {}
    assert result == {"width": 64, "height": 48, "first": [10, 0, 245]}


def test_a_reference_without_its_pixels_is_a_one_pixel_image(stack: Stack) -> None:
    """What a client that copies a reference into its own call gets: nothing attached."""
    result, error = stack.run("measure", "size", {"image": reference("job-1")})
    assert error == {} and (result["width"], result["height"]) == (1, 1)
    payload, _ = _frame("job-2", _pixels(8, 8, 1))
    other = CallContext(attachments={reference("someone-else"): _pixels(9, 9, 2)})
    with call_context(other):
        result, error = stack.run("measure", "size", payload)
    assert (result["width"], result["height"]) == (1, 1)


def test_frames_batched_together_each_reach_their_own_call(stack: Stack, tmp_path: Path) -> None:
    release = tmp_path / "release"
    answers: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}

    def call(n: int, payload: dict[str, Any], ctx: CallContext) -> None:
        with call_context(ctx):
            answers[n] = stack.run("measure", "size", payload)

    hold_payload, hold_ctx = _frame("hold", _pixels(5, 5, 5))
    threads = [
        threading.Thread(target=call, args=(0, {**hold_payload, "hold": str(release)}, hold_ctx))
    ]
    threads[0].start()
    pool = stack.executor.pool("measure")
    assert pool is not None
    eventually(lambda: pool.stats()["busy"] == 1, "the hold to run")
    for n in (1, 2, 3):
        payload, ctx = _frame(f"frame-{n}", _pixels(10 * n, 5 * n, 20 * n))
        threads.append(threading.Thread(target=call, args=(n, payload, ctx)))
        threads[-1].start()
    eventually(lambda: len(pool._batchers["size"]._queue) == 3, "the frames to line up")
    release.touch()
    for thread in threads:
        thread.join(60)
    for n in (1, 2, 3):
        assert answers[n] == (
            {"width": 10 * n, "height": 5 * n, "first": [20 * n, 0, 255 - 20 * n]},
            {},
        )
    assert stack.executor.batch_sizes()["measure"]["size"].get(3) == 1


def test_in_process_tools_get_the_pixels_too() -> None:
    registry = PluginRegistry()
    registry.replace_all(load_plugins([source_for_class(MeasurePlugin)]))
    executor = InProcessExecutor()
    runner = ToolRunner(registry=registry, executor=executor)
    try:
        payload, ctx = _frame("in-process", _pixels(7, 3, 99))
        with call_context(ctx):
            result, error = runner.run("measure", payload, "size")
        assert error == {} and (result["width"], result["height"]) == (7, 3)
    finally:
        executor.shutdown(1)


def test_pixels_bigger_than_the_image_limit_are_refused() -> None:
    from app.plugins.base import InvalidInput
    from app.plugins.frames import attached
    from app.plugins.images import ImageLimits

    ref = reference("big")
    with attached({ref: _pixels(100, 100, 0)}), pytest.raises(InvalidInput):
        load_image({"image": ref}, limits=ImageLimits(max_pixels=9_999))
