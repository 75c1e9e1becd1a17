"""WS /v1/streams/pipeline/{name}: every frame through a saved pipeline (each step a
governed tool call), latest frame wins, failing steps as envelopes naming the step."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from gate_plugin import ENTERED, OPEN
from pipeline_specs import failing
from starlette.websockets import WebSocketDisconnect
from stream_helpers import frame

from app.auth.keys import KeyCreate
from app.auth.scopes import Scope
from app.plugins.runtime.tool_runner import ToolRunner

#: The gate holds a frame in the first step; then the frame is described.
GATED = {
    "name": "gated",
    "steps": [
        {"id": "size", "tool": "gate.measure"},
        {"id": "info", "tool": "image_info.describe", "args": {"dominant_colors": 1}},
    ],
}
#: Fails in its second step for frames wider than 16 px (no valid colour count).
PICKY = failing("picky")


@pytest.fixture
def client(streams_client: TestClient) -> TestClient:
    for spec in (GATED, PICKY):
        assert streams_client.post("/v1/pipelines", json=spec).status_code == 201
    return streams_client


def test_every_frame_runs_the_pipeline(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    OPEN.set()
    calls: list[str] = []
    real = ToolRunner.run

    def spy(self: ToolRunner, plugin: str, payload: dict[str, Any], tool: str | None = None) -> Any:
        calls.append(f"{plugin}.{tool}")
        return real(self, plugin, payload, tool)

    monkeypatch.setattr(ToolRunner, "run", spy)
    with client.websocket_connect("/v1/streams/pipeline/gated") as ws:
        for width in (5, 6):
            ws.send_bytes(frame(width, fmt="JPEG"))
            answer = ws.receive_json()
            assert (answer["plugin"], answer["tool"], answer["dropped"]) == ("pipeline", "gated", 0)
            result = answer["result"]
            assert result["pipeline"] == "gated"
            assert result["steps"]["size"] == {"width": width, "height": 8}
            assert result["steps"]["info"]["format"] == "JPEG"
            assert set(result["timings_ms"]) == {"size", "info"}
    assert calls == ["gate.measure", "image_info.describe"] * 2  # every step a ToolRunner call


def test_a_client_faster_than_the_pipeline_gets_the_newest_frames(client: TestClient) -> None:
    with client.websocket_connect("/v1/streams/pipeline/gated") as ws:
        ws.send_bytes(frame(11))
        assert ENTERED.get(timeout=10) == 11  # frame 1 is held in its first step
        for width in range(12, 16):
            ws.send_bytes(frame(width))
        ws.send_text("not a frame")  # answered in order: frames 2..5 are in the slot now
        assert ws.receive_json()["frame"] == 6
        OPEN.set()
        first, second = ws.receive_json(), ws.receive_json()
        assert (first["frame"], first["dropped"]) == (1, 0)
        assert (second["frame"], second["dropped"]) == (5, 3)
        assert second["result"]["steps"]["size"]["width"] == 15


def test_a_failing_step_is_an_envelope_and_the_stream_goes_on(client: TestClient) -> None:
    OPEN.set()
    with client.websocket_connect("/v1/streams/pipeline/picky") as ws:
        ws.send_bytes(frame(30))
        failed = ws.receive_json()
        assert set(failed) == {"error", "frame", "dropped"}
        assert failed["frame"] == 1
        assert failed["error"]["details"]["step"] == "colours"
        assert failed["error"]["details"]["code"] == "invalid_input"
        ws.send_bytes(frame(4))
        answer = ws.receive_json()
        assert answer["frame"] == 2
        assert len(answer["result"]["steps"]["colours"]["dominant_colors"]) <= 4
    rest = client.post("/v1/pipelines/picky/run", json={"image": _b64(frame(30))})
    assert {k: v for k, v in rest.json()["error"].items() if k != "timestamp"} == {
        k: v for k, v in failed["error"].items() if k != "timestamp"
    }


def test_the_pipeline_is_pinned_when_the_stream_opens(client: TestClient) -> None:
    OPEN.set()
    with client.websocket_connect("/v1/streams/pipeline/picky") as ws:
        assert client.delete("/v1/pipelines/picky").status_code == 200
        ws.send_bytes(frame(4))
        assert ws.receive_json()["result"]["pipeline"] == "picky"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/v1/streams/pipeline/nope", "not_found"),
        ('/v1/streams/pipeline/gated?args={"x":1}', "invalid_input"),
    ],
)
def test_a_pipeline_stream_that_cannot_run_says_why_and_closes(
    client: TestClient, path: str, code: str
) -> None:
    with client.websocket_connect(path) as ws:
        assert ws.receive_json()["error"]["details"]["code"] == code
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1008


def test_pipeline_streams_need_a_run_key(client: TestClient) -> None:
    OPEN.set()
    auth = client.app.state.auth  # type: ignore[attr-defined]
    run = auth.create_key(KeyCreate(name="runner", scope=Scope.RUN)).secret
    read = auth.create_key(KeyCreate(name="reader", scope=Scope.READ)).secret
    for headers in ({}, {"Authorization": f"Bearer {read}"}):
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect("/v1/streams/pipeline/gated", headers=headers),
        ):
            pass
        assert refused.value.code == 1008
    with client.websocket_connect(
        "/v1/streams/pipeline/gated", headers={"Authorization": f"Bearer {run}"}
    ) as ws:
        ws.send_bytes(frame(3))
        assert ws.receive_json()["result"]["steps"]["size"]["width"] == 3


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii")
