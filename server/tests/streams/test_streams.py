"""WS /v1/streams/{plugin}/{tool}: a result per processed frame, stale frames dropped,
envelopes for bad frames on a socket that survives them."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from gate_plugin import ENTERED, OPEN
from PIL import Image
from skimage import data
from starlette.websockets import WebSocketDisconnect
from stream_helpers import frame

from app.auth.keys import KeyCreate
from app.auth.scopes import Scope


def test_a_client_faster_than_the_tool_gets_the_newest_frames(
    streams_client: TestClient,
) -> None:
    with streams_client.websocket_connect("/v1/streams/gate/measure") as ws:
        ws.send_bytes(frame(11))
        assert ENTERED.get(timeout=10) == 11  # frame 1 is in the tool, held at the gate
        for width in range(12, 17):  # frames 2..6 arrive while it works
            ws.send_bytes(frame(width))
        # A text message is answered by the receiver in order: once its envelope is here,
        # frames 2..6 have all reached the pending slot.
        ws.send_text("not a frame")
        refused = ws.receive_json()
        assert refused["frame"] == 7
        assert refused["error"]["details"]["code"] == "invalid_input"
        assert "_internal" not in refused
        OPEN.set()
        first, second = ws.receive_json(), ws.receive_json()
        assert (first["frame"], first["dropped"], first["result"]["width"]) == (1, 0, 11)
        # only the newest pending frame survived: 2..5 were dropped, and said so
        assert (second["frame"], second["dropped"], second["result"]["width"]) == (6, 4, 16)
        assert second["plugin"] == "gate" and second["tool"] == "measure"
        assert ENTERED.get(timeout=10) == 16 and ENTERED.empty()  # 12..15 never ran

        ws.send_bytes(frame(20))  # and the stream goes on
        later = ws.receive_json()
        assert (later["frame"], later["dropped"], later["result"]["width"]) == (8, 0, 20)


def test_every_frame_is_answered_when_the_tool_keeps_up(streams_client: TestClient) -> None:
    OPEN.set()
    with streams_client.websocket_connect("/v1/streams/gate/measure") as ws:
        for width in (5, 6, 7):
            ws.send_bytes(frame(width, fmt="JPEG"))
            answer = ws.receive_json()
            assert answer["result"] == {"width": width, "height": 8}
            assert answer["dropped"] == 0


def test_a_bad_frame_gets_an_envelope_and_the_next_frame_works(
    streams_client: TestClient,
) -> None:
    OPEN.set()
    photo = io.BytesIO()
    Image.fromarray(data.astronaut()).save(photo, "JPEG")
    with streams_client.websocket_connect("/v1/streams/image_info/describe") as ws:
        ws.send_bytes(b"\x89PNG\r\n\x1a\n" + b"truncated")  # looks like PNG, is not one
        failed = ws.receive_json()
        assert failed["frame"] == 1 and failed["dropped"] == 0
        assert failed["error"]["type"] == "ValidationError", failed
        assert set(failed) == {"error", "frame", "dropped"}  # public part only

        ws.send_bytes(b"GIF89a not a jpeg or png")
        wrong = ws.receive_json()
        assert wrong["frame"] == 2 and wrong["error"]["details"]["reason"] == "not_an_image"

        ws.send_bytes(photo.getvalue())
        answer = ws.receive_json()
        assert answer["frame"] == 3
        assert (answer["result"]["width"], answer["result"]["height"]) == (512, 512)
        assert answer["result"]["format"] == "JPEG"

    stats = streams_client.get("/v1/plugins/image_info/health").json()
    # frames are governed calls: counted like any other (the truncated PNG as an error)
    assert (stats["success_count"], stats["error_count"]) == (1, 1), stats


def test_an_oversized_frame_is_refused_and_the_stream_goes_on(make_client: Any) -> None:
    from helpers import builtin_sources

    client = make_client(builtin_sources("image_info"), max_image_bytes=2000)
    big = io.BytesIO()
    Image.fromarray(data.astronaut()).save(big, "PNG")
    with client.websocket_connect("/v1/streams/image_info/describe") as ws:
        ws.send_bytes(big.getvalue())
        refused = ws.receive_json()
        assert refused["error"]["details"]["code"] == "payload_too_large"
        assert refused["error"]["details"]["limit"] == 2000
        ws.send_bytes(frame(9))
        assert ws.receive_json()["result"]["width"] == 9


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/v1/streams/nope/describe", "plugin_not_found"),
        ("/v1/streams/image_info/nope", "tool_not_found"),
        ("/v1/streams/image_info/describe?args=[1]", "invalid_input"),
        ('/v1/streams/image_info/describe?args={"image":"x"}', "invalid_input"),
    ],
)
def test_a_stream_that_cannot_run_says_why_and_closes(
    streams_client: TestClient, path: str, code: str
) -> None:
    with streams_client.websocket_connect(path) as ws:
        assert ws.receive_json()["error"]["details"]["code"] == code
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1008


def test_args_reach_the_tool_with_every_frame(make_client: Any) -> None:
    from helpers import builtin_sources

    client = make_client(builtin_sources("image_info"))
    path = '/v1/streams/image_info/describe?args={"dominant_colors":2}'
    with client.websocket_connect(path) as ws:
        ws.send_bytes(frame(30))
        answer = ws.receive_json()
    assert len(answer["result"]["dominant_colors"]) <= 2, answer


def test_streams_need_a_run_key_once_keys_exist(streams_client: TestClient) -> None:
    OPEN.set()
    auth = streams_client.app.state.auth  # type: ignore[attr-defined]
    run = auth.create_key(KeyCreate(name="runner", scope=Scope.RUN)).secret
    read = auth.create_key(KeyCreate(name="reader", scope=Scope.READ)).secret
    for headers in ({}, {"Authorization": f"Bearer {read}"}, {"Authorization": "Bearer nope"}):
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            streams_client.websocket_connect("/v1/streams/gate/measure", headers=headers),
        ):
            pass
        assert refused.value.code == 1008  # closed before the handshake was accepted
    with streams_client.websocket_connect(
        "/v1/streams/gate/measure", headers={"Authorization": f"Bearer {run}"}
    ) as ws:
        ws.send_bytes(frame(3))
        assert ws.receive_json()["result"]["width"] == 3
