"""A worker keeps a call's buffers for the next call (``process/memory.py``): calls on a
photo reuse their working memory instead of unmapping it and page-faulting it back in
(4,255 minor faults per barcode call on a 1600x1200 photo before; issue 15)."""

from __future__ import annotations

import base64
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import builtin_sources
from PIL import Image
from skimage import data as skimage_data

from app.plugins.loader.plugin_loader import load_plugins
from app.plugins.loader.plugin_registry import PluginRegistry, PluginState
from app.plugins.runtime.process import ProcessExecutor, ProcessOptions
from app.plugins.runtime.process.memory import keep_freed_memory
from app.plugins.runtime.tool_runner import ToolRunner

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; glibc only"),
]


@pytest.fixture(scope="module")
def runner() -> Iterator[tuple[ToolRunner, ProcessExecutor]]:
    registry = PluginRegistry()
    registry.replace_all(load_plugins(builtin_sources("barcode")))
    executor = ProcessExecutor(ProcessOptions(workers={"barcode": 1}), registry=registry)
    for record in registry.records():
        executor.start_plugin(record)
        registry.transition(record.name, PluginState.INITIALIZED, only_from={PluginState.LOADED})
    yield ToolRunner(registry=registry, executor=executor), executor
    executor.shutdown(2)


def _minor_faults(pid: int) -> int:
    after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(after_name[7])  # field 10 of stat(5): minflt


def test_the_allocator_setting_applies_here() -> None:
    assert keep_freed_memory() is True  # glibc: the setting the workers make at start


def test_photo_calls_do_not_fault_their_memory_back_in(
    runner: tuple[ToolRunner, ProcessExecutor],
) -> None:
    tool_runner, executor = runner
    photo = Image.fromarray(skimage_data.astronaut()).resize((1600, 1200))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90)
    payload = {"image": base64.b64encode(buffer.getvalue()).decode(), "mime_type": "image/jpeg"}
    for _ in range(3):  # warm: the heap grows to the call's working set once
        assert tool_runner.run("barcode", dict(payload), "read")[1] == {}
    (pid,) = executor.pids("barcode")
    before = _minor_faults(pid)
    calls = 5
    for _ in range(calls):
        assert tool_runner.run("barcode", dict(payload), "read")[1] == {}
    per_call = (_minor_faults(pid) - before) / calls
    assert per_call < 400, f"{per_call:.0f} page faults per call: buffers went back to the OS"
