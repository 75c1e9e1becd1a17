"""The wire format: plain data crosses, objects that would need an import do not."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from typing import Any

import pytest

from app.plugins.base import Plugin, ToolContext, tool
from app.plugins.runtime.process import worker
from app.plugins.runtime.process.config import WorkerSpec
from app.plugins.runtime.process.ipc import protocol


class _Evil:
    def __reduce__(self) -> Any:
        import os

        return (os.getpid, ())  # any callable: loading it would call it in the server


def _body(value: Any) -> memoryview:
    tag, body = protocol.split(protocol.encode_result(value))
    assert tag == protocol.RESULT
    assert isinstance(body, memoryview)
    return body


def test_plain_data_round_trips() -> None:
    value = {"text": "é", "n": 2**70, "x": 1.5, "ok": True, "none": None, "list": [1, [2]]}
    assert protocol.load_result(_body(value)) == value


@pytest.mark.parametrize(
    "value", [{"evil": _Evil()}, {"obj": object()}, {"when": datetime.now(UTC)}]
)
def test_anything_needing_an_import_is_refused(value: Any) -> None:
    with pytest.raises(protocol.ForbiddenObject):
        protocol.load_result(_body(value))


def test_control_frames_are_json_and_failures_are_capped() -> None:
    tag, body = protocol.split(protocol.frame(protocol.PROGRESS, [0.5, "half"]))
    assert (tag, body) == (protocol.PROGRESS, [0.5, "half"])
    failure = protocol.Failure("tool_error", "m" * 100_000, traceback="t" * 100_000)
    tag, body = protocol.split(protocol.failure_frame(failure))
    decoded = protocol.Failure.from_json(body)
    assert tag == protocol.ERROR and decoded.code == "tool_error"
    assert len(decoded.message) < 100_000 and len(decoded.traceback) < 100_000


def test_commands_decode_and_garbage_is_rejected() -> None:
    frame = protocol.encode_call("echo", {"text": "x"}, 1.5)
    # The last field: the caller's traceparent, None while tracing is off.
    assert protocol.decode_command(frame) == ("call", "echo", {"text": "x"}, 1.5, True, None)
    quiet = protocol.encode_call("echo", {}, None, progress=False)
    assert protocol.decode_command(quiet) == ("call", "echo", {}, None, False, None)
    traced = protocol.encode_call("echo", {}, None, trace="00-" + "1" * 32 + "-" + "2" * 16 + "-01")
    assert protocol.decode_command(traced)[-1] == "00-" + "1" * 32 + "-" + "2" * 16 + "-01"
    with pytest.raises(ValueError):
        protocol.decode_command(pickle.dumps("not a tuple"))


class _Reporter(Plugin):
    name = "reporter"
    version = "1.0.0"

    @tool
    def work(self, args: dict, ctx: ToolContext) -> dict:
        for step in range(5):
            ctx.progress(step / 5, f"step {step}")
        ctx.progress(1.0, "done")
        return {"ok": True}


class _Pipe:
    """Stands for the worker's pipe: records every frame the worker sends."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send_bytes(self, data: bytes) -> None:
        self.sent.append(data)


def _frames(progress: bool) -> list[int]:
    pipe = _Pipe()
    spec = WorkerSpec("reporter", None, None, None, 1 << 20)
    server = worker._Server(_Reporter(), pipe, spec)  # type: ignore[arg-type]
    reply, recycle = server._call("work", {}, None, progress)
    assert not recycle and protocol.split(reply)[0] == protocol.RESULT
    return [frame[0] for frame in pipe.sent]


def test_progress_crosses_the_pipe_only_when_the_caller_listens() -> None:
    assert protocol.PROGRESS in _frames(progress=True)
    assert _frames(progress=False) == []
