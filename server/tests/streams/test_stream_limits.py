"""Stream memory is bounded on the whole server: streams per key and in total, and frames
count in the in-flight body budget (issue 24, item 17)."""

from __future__ import annotations

import io
import os
from typing import Any

import pytest
from fastapi.testclient import TestClient
from gate_plugin import ENTERED, OPEN, GatePlugin
from PIL import Image
from starlette.websockets import WebSocketDisconnect
from stream_helpers import frame

from app.auth.keys import KeyCreate
from app.auth.scopes import Scope
from app.plugins.loader.plugin_loader import source_for_class

pytestmark = pytest.mark.timeout(60)

PATH = "/v1/streams/gate/measure"


def _client(make_client: Any, **settings: Any) -> TestClient:
    client: TestClient = make_client(
        [source_for_class(GatePlugin)], force_in_process=True, **settings
    )
    return client


def _refused(ws: Any) -> tuple[dict[str, Any], WebSocketDisconnect]:
    """A refused stream's envelope and close."""
    envelope = ws.receive_json()
    with pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    return envelope["error"], closed.value


def test_streams_per_key_are_capped(make_client: Any, gate: None) -> None:
    OPEN.set()
    client = _client(make_client, stream_max_per_key=1)
    auth = client.app.state.auth  # type: ignore[attr-defined]
    first = auth.create_key(KeyCreate(name="one", scope=Scope.RUN)).secret
    other = auth.create_key(KeyCreate(name="two", scope=Scope.RUN)).secret
    with client.websocket_connect(PATH, headers={"X-API-Key": first}) as held:
        held.send_bytes(frame(3))
        assert held.receive_json()["result"]["width"] == 3  # the first stream is open
        with client.websocket_connect(PATH, headers={"X-API-Key": first}) as second:
            error, closed = _refused(second)
        assert error["details"]["code"] == "rate_limited"
        assert error["details"]["reason"] == "streams_per_key"
        assert closed.code == 1013 and "VISOR_STREAM_MAX_PER_KEY" in closed.reason
        with client.websocket_connect(PATH, headers={"X-API-Key": other}) as another_key:
            another_key.send_bytes(frame(4))
            assert another_key.receive_json()["result"]["width"] == 4
    with client.websocket_connect(PATH, headers={"X-API-Key": first}) as again:  # freed
        again.send_bytes(frame(5))
        assert again.receive_json()["result"]["width"] == 5


def test_streams_on_the_server_are_capped(make_client: Any, gate: None) -> None:
    OPEN.set()
    client = _client(make_client, stream_max_total=1)
    with client.websocket_connect(PATH) as held:
        held.send_bytes(frame(3))
        assert held.receive_json()["result"]["width"] == 3
        with client.websocket_connect(PATH) as second:
            error, closed = _refused(second)
        assert error["details"]["code"] == "overloaded"
        assert error["details"]["reason"] == "streams_total"
        assert closed.code == 1013 and "VISOR_STREAM_MAX_TOTAL" in closed.reason
    assert client.app.state.stream_limits.open_streams == 0  # type: ignore[attr-defined]


def _noise_frame(width: int) -> bytes:
    """A PNG that does not compress: about ``width * 40 * 3`` bytes."""
    image = Image.frombytes("RGB", (width, 40), os.urandom(width * 40 * 3))
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def test_frames_count_in_the_in_flight_body_budget(make_client: Any, gate: None) -> None:
    """With a frame held in the tool, a second one that does not fit the budget is refused
    at once (``overloaded``), not parked in memory; the stream goes on, and every byte is
    given back."""
    budget = 10_000
    client = _client(make_client, max_request_bytes=budget, max_bodies_in_flight_bytes=budget)
    big, bigger = _noise_frame(48), _noise_frame(49)
    assert 5_000 < len(big) < budget < len(big) + len(bigger) and len(bigger) < budget
    with client.websocket_connect(PATH) as ws:
        ws.send_bytes(big)
        assert ENTERED.get(timeout=10) == 48  # in the tool: its bytes are held
        ws.send_bytes(bigger)
        refused = ws.receive_json()
        assert refused["frame"] == 2 and refused["error"]["details"]["code"] == "overloaded"
        assert refused["error"]["details"]["limit_bytes"] == budget
        OPEN.set()
        assert ws.receive_json()["result"]["width"] == 48
        ws.send_bytes(bigger)  # fits now that the first frame was answered
        assert ws.receive_json()["result"]["width"] == 49
    assert client.app.state.body_budget.held_bytes == 0  # type: ignore[attr-defined]
