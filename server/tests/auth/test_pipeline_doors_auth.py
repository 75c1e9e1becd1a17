"""The pipeline doors with keys: MCP (a ``read`` key lists pipelines but cannot run one;
``run`` can) and stream WebSockets with the dashboard's session cookie (accepted from the
server's own origin only: cross-site WebSocket hijacking is refused)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from auth_helpers import Keys, bearer, mcp_client, start_secured_live
from helpers import png_bytes
from live_server import LiveServer
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

ECHO_TWICE = {
    "name": "echo-twice",
    "steps": [
        {"id": "one", "tool": "echo.echo", "args": {"text": "a"}},
        {"id": "two", "tool": "echo.echo", "args_from": {"text": "one.text"}},
    ],
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def secured_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Keys]]:
    server, keys = start_secured_live(tmp_path_factory.mktemp("pipeline-auth") / "data")
    httpx.post(
        f"{server.url}/v1/pipelines", json=ECHO_TWICE, headers=bearer(keys.admin), timeout=30
    ).raise_for_status()
    yield server, keys
    server.stop()


async def test_mcp_read_key_lists_a_pipeline_but_cannot_run_it(
    secured_live: tuple[LiveServer, Keys],
) -> None:
    server, keys = secured_live
    async with mcp_client(server, bearer(keys.read)) as client:
        assert "pipeline.echo-twice" in {t.name for t in (await client.list_tools()).tools}
        refused = await client.call_tool("pipeline.echo-twice", {})
    assert refused.is_error
    error = json.loads(refused.content[0].text)["error"]  # type: ignore[union-attr]
    assert error["details"]["code"] == "forbidden"
    assert "running pipelines needs run" in error["message"]


async def test_mcp_run_key_runs_a_pipeline(secured_live: tuple[LiveServer, Keys]) -> None:
    server, keys = secured_live
    async with mcp_client(server, bearer(keys.run)) as client:
        called = await client.call_tool("pipeline.echo-twice", {})
    assert called.is_error is False
    assert called.structured_content is not None
    assert called.structured_content["steps"]["two"]["text"] == "a"


# -- streams with the dashboard's session cookie --------------------------------------------


def _stream(server: LiveServer, headers: dict[str, str], origin: str | None) -> dict[str, object]:
    """Open the pipeline stream, send one frame, return the answer (raises if refused)."""
    url = server.url.replace("http://", "ws://") + "/v1/streams/pipeline/echo-twice"
    with connect(url, origin=origin, additional_headers=headers, open_timeout=30) as ws:  # type: ignore[arg-type]
        ws.send(png_bytes())
        answer: dict[str, object] = json.loads(ws.recv(timeout=30))
    return answer


def _refused_status(server: LiveServer, headers: dict[str, str], origin: str | None) -> int:
    with pytest.raises(InvalidStatus) as refused:
        _stream(server, headers, origin)
    return refused.value.response.status_code


def _cookie(server: LiveServer, key: str) -> dict[str, str]:
    """The dashboard's session cookie for ``key``, as ``POST /ui/session`` sets it (a key
    the server refuses gets no session: it is sent as it is, and refused again)."""
    signed_in = httpx.post(f"{server.url}/ui/session", json={"key": key}, timeout=30)
    token = signed_in.cookies.get("visor_session")
    return {"Cookie": f"visor_session={token or key}"}


def test_stream_accepts_the_session_cookie_from_its_own_origin(
    secured_live: tuple[LiveServer, Keys],
) -> None:
    server, keys = secured_live
    cookie = _cookie(server, keys.run)
    assert cookie["Cookie"].startswith("visor_session=vss_")  # a session token, not the key
    answer = _stream(server, cookie, origin=server.url)
    assert answer["plugin"] == "pipeline" and answer["tool"] == "echo-twice", answer


def test_stream_refuses_the_cookie_from_a_foreign_origin(
    secured_live: tuple[LiveServer, Keys],
) -> None:
    """Cross-site WebSocket hijacking: a valid cookie, sent by a page on another site."""
    server, keys = secured_live
    assert _refused_status(server, _cookie(server, keys.run), origin="http://evil.example") == 403
    # an origin naming another host on the same port
    rebound = server.url.replace("127.0.0.1", "rebind.example")
    assert _refused_status(server, _cookie(server, keys.run), origin=rebound) == 403


def test_stream_cookie_needs_an_origin_and_a_run_key(
    secured_live: tuple[LiveServer, Keys],
) -> None:
    server, keys = secured_live
    assert _refused_status(server, _cookie(server, keys.run), origin=None) == 403  # not a browser
    assert _refused_status(server, _cookie(server, keys.read), origin=server.url) == 403  # scope
    assert _refused_status(server, _cookie(server, "vsr_nope_nope"), origin=server.url) == 403
    # a header key still works without any Origin (SDKs, scripts)
    answer = _stream(server, bearer(keys.run), origin=None)
    assert answer["tool"] == "echo-twice"
