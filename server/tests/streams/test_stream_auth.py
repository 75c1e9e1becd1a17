"""A stream answers to its key while it lasts (app.auth.lease): a revoked or expired key
ends it, and every frame it runs is a request of the key's rate (issue 24, items 1, 11)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from gate_plugin import OPEN, GatePlugin
from sqlalchemy import update
from starlette.websockets import WebSocketDisconnect
from stream_helpers import frame

from app.auth.credentials import CSRF_COOKIE, CSRF_HEADER
from app.auth.keys import KeyCreate
from app.auth.scopes import Scope
from app.auth.tables import api_keys
from app.plugins.loader.plugin_loader import source_for_class

pytestmark = pytest.mark.timeout(30)  # before the fix an idle stream was never closed

PATH = "/v1/streams/gate/measure"
ORIGIN = "http://camera.example"  # the dashboard's page, as allowed_origins lists it


def _key(client: TestClient, **quotas: Any) -> tuple[str, str]:
    auth = client.app.state.auth  # type: ignore[attr-defined]
    created = auth.create_key(KeyCreate(name="camera", scope=Scope.RUN, **quotas))
    return created.secret, created.key.id


def _expire(client: TestClient, key_id: str) -> None:
    auth = client.app.state.auth  # type: ignore[attr-defined]
    with auth.index.store.engine.begin() as conn:
        conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id)
            .values(expires_us=int((time.time() - 1) * 1e6))
        )
    auth.index.reload()


def _assert_closed_for(ws: Any, message: str) -> None:
    """The stream's last words: the envelope, then close 1008 with the reason."""
    ended = ws.receive_json()
    assert "result" not in ended, ended  # nothing ran on the lost key
    assert ended["error"]["details"]["code"] == "unauthorized"
    assert ended["error"]["message"] == message
    with pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    assert closed.value.code == 1008 and closed.value.reason == message


@pytest.mark.parametrize("how", ["revoked", "expired"])
def test_a_frame_after_the_key_is_lost_runs_nothing_and_closes_the_stream(
    streams_client: TestClient, how: str
) -> None:
    OPEN.set()
    key, key_id = _key(streams_client)
    with streams_client.websocket_connect(PATH, headers={"Authorization": f"Bearer {key}"}) as ws:
        ws.send_bytes(frame(3))
        assert ws.receive_json()["result"]["width"] == 3
        if how == "revoked":
            streams_client.app.state.auth.revoke_key("camera")  # type: ignore[attr-defined]
        else:
            _expire(streams_client, key_id)
        ws.send_bytes(frame(4))
        message = "this API key was revoked" if how == "revoked" else "this API key has expired"
        _assert_closed_for(ws, message)


def test_an_idle_stream_is_closed_when_its_key_is_revoked(streams_client: TestClient) -> None:
    key, _ = _key(streams_client)
    with streams_client.websocket_connect(PATH, headers={"Authorization": f"Bearer {key}"}) as ws:
        streams_client.app.state.auth.revoke_key("camera")  # type: ignore[attr-defined]
        _assert_closed_for(ws, "this API key was revoked")  # no frame needed


def test_each_frame_is_a_request_of_the_keys_rate(streams_client: TestClient) -> None:
    """A key allowed 3 requests (the handshake is one) runs two frames; the third is
    answered rate_limited, not run, and the stream goes on."""
    OPEN.set()
    key, _ = _key(streams_client, rate_per_s=0.001, burst=3)
    with streams_client.websocket_connect(PATH, headers={"Authorization": f"Bearer {key}"}) as ws:
        answers = []
        for width in (5, 6, 7):
            ws.send_bytes(frame(width))
            answers.append(ws.receive_json())
        assert [a["result"]["width"] for a in answers[:2]] == [5, 6]
        refused = answers[2]
        assert "result" not in refused and refused["frame"] == 3
        assert refused["error"]["details"]["code"] == "rate_limited"
        assert refused["error"]["details"]["retry_after_s"] >= 1


def test_signing_out_closes_the_dashboards_live_stream(make_client: Any, gate: None) -> None:
    """The live camera page streams with the session cookie: signing out ends it."""
    client: TestClient = make_client(
        [source_for_class(GatePlugin)], force_in_process=True, allowed_origins=[ORIGIN]
    )
    key, _ = _key(client)
    assert client.post("/ui/session", json={"key": key}).status_code == 200
    with client.websocket_connect(PATH, headers={"Origin": ORIGIN}) as ws:
        OPEN.set()
        ws.send_bytes(frame(3))
        assert ws.receive_json()["result"]["width"] == 3
        csrf = client.cookies[CSRF_COOKIE]
        assert client.delete("/ui/session", headers={CSRF_HEADER: csrf}).status_code == 200
        _assert_closed_for(ws, "this dashboard session has ended: sign in again")
