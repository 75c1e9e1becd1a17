"""Refusals every MCP client can read: 401/429 on ``/mcp`` as JSON-RPC errors.

The auth middleware refuses before the MCP server runs. As a REST envelope, the Python SDK
2.x showed ``-32603 "Server returned an error response"`` (reason and wait lost); as a
JSON-RPC error at the same status, each client shows the reason.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from helpers import plugin_sources
from live_server import LiveServer
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from node_toolchain import NodeClients, NodeMissing, install

from app.auth.keys import KeyCreate
from app.auth.scopes import Scope
from app.mcp.refusals import RATE_LIMITED, UNAUTHORIZED
from app.settings import Settings

pytestmark = pytest.mark.anyio

_LIST = {"jsonrpc": "2.0", "id": "list-1", "method": "tools/list", "params": {}}
_ACCEPT = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    """A live server with keys (so they are required); the secret of a run key."""
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("mcp-refusals") / "data",
        force_in_process=True,
        auth_failures_burst=1000,
        _env_file=None,
    )
    server = LiveServer(settings, plugin_sources("echo")).start()
    created = server.app.state.auth.create_key(KeyCreate(name="agent", scope=Scope.RUN))
    yield server, created.secret
    server.stop()


def _slow_key(server: LiveServer, name: str) -> str:
    """A key allowed one request now and the next in about an hour."""
    quota = KeyCreate(name=name, scope=Scope.RUN, rate_per_s=0.0003, burst=1)
    return str(server.app.state.auth.create_key(quota).secret)


def test_no_key_is_a_json_rpc_error_saying_it_wants_an_api_key(
    secured: tuple[LiveServer, str],
) -> None:
    server, _ = secured
    answer = httpx.post(server.mcp_url, json=_LIST, headers=_ACCEPT)

    assert answer.status_code == 401
    body = answer.json()
    assert body["jsonrpc"] == "2.0" and body["id"] == "list-1"  # the request's own id
    assert body["error"]["code"] == UNAUTHORIZED
    assert body["error"]["message"].startswith("an API key is required")
    assert body["error"]["data"]["error"]["details"]["code"] == "unauthorized"
    challenge = answer.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and "API key" in challenge and "not OAuth" in challenge


def test_over_the_rate_is_a_json_rpc_error_with_the_wait(secured: tuple[LiveServer, str]) -> None:
    server, _ = secured
    key = _slow_key(server, "slow-raw")
    headers = {**_ACCEPT, "Authorization": f"Bearer {key}"}
    assert httpx.post(server.mcp_url, json=_LIST, headers=headers).status_code == 200
    answer = httpx.post(server.mcp_url, json=_LIST, headers=headers)

    assert answer.status_code == 429
    wait = int(answer.headers["retry-after"])
    error = answer.json()["error"]
    assert error["code"] == RATE_LIMITED and "request rate" in error["message"]
    assert error["data"]["retry_after_s"] == wait > 60
    assert error["data"]["error"]["details"]["code"] == "rate_limited"


def test_rest_refusals_stay_envelopes(secured: tuple[LiveServer, str]) -> None:
    server, _ = secured
    answer = httpx.get(f"{server.url}/v1/plugins")
    assert answer.status_code == 401 and answer.json()["error"]["details"]["code"] == "unauthorized"
    assert answer.headers["www-authenticate"] == 'Bearer realm="visor"'


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_python_sdk_shows_the_reason_and_the_wait(
    secured: tuple[LiveServer, str], mode: str
) -> None:
    server, _ = secured
    with pytest.raises(BaseException) as raised:  # the SDK wraps it in exception groups
        async with Client(server.mcp_url, mode=mode) as client:
            await client.list_tools()
    missing = _mcp_error(raised.value)
    assert missing.error.code == UNAUTHORIZED
    assert "an API key is required" in missing.error.message

    key = _slow_key(server, f"slow-{mode}")
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}) as http:
        with pytest.raises(BaseException) as raised:
            transport = streamable_http_client(server.mcp_url, http_client=http)
            async with Client(transport, mode=mode) as client:
                await client.list_tools()
                await client.list_tools()
    limited = _mcp_error(raised.value)
    assert limited.error.code == RATE_LIMITED
    data: Any = limited.error.data
    assert data["retry_after_s"] > 60


def _mcp_error(exc: BaseException) -> MCPError:
    """The MCPError inside whatever groups or chains the SDK raised it in."""
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if isinstance(current, MCPError):
            return current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        elif current is not None:
            pending.extend((current.__cause__, current.__context__))
    raise AssertionError(f"no MCPError in {exc!r}")


def _node(clients: NodeClients, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(clients.node), str(clients.script(script)), *args],
        cwd=clients.root,
        env=clients.env(),
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_typescript_sdk_and_inspector_show_the_reason(
    secured: tuple[LiveServer, str], tmp_path: Path
) -> None:
    try:
        clients = install()
    except NodeMissing as exc:
        pytest.skip(f"external MCP client tests skipped: {exc}")
    server, _ = secured
    done = _node(clients, "refusal_client.mjs", server.mcp_url, _slow_key(server, "slow-ts"))
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert "an API key is required" in report["missing"]
    assert "request rate" in report["limited"] and "retry_after_s" in report["limited"]

    inspector = subprocess.run(
        ["npx", "--no-install", "@modelcontextprotocol/inspector", "--cli", server.mcp_url,
         "--method", "tools/list", "--stored-auth-only"],
        cwd=clients.root,
        env=clients.env(MCP_CATALOG_PATH=str(tmp_path / "catalog.json")),
        capture_output=True,
        text=True,
        timeout=180,
    )  # fmt: skip
    assert inspector.returncode != 0
    assert "an API key is required" in inspector.stdout + inspector.stderr


def test_cors_preflight_admits_the_2026_headers(make_client: Any) -> None:
    client: TestClient = make_client(
        plugin_sources("echo"), allowed_origins=["https://agent.example"], force_in_process=True
    )
    preflight = client.options(
        "/mcp",
        headers={
            "Origin": "https://agent.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, mcp-protocol-version, mcp-method, "
            "mcp-name, authorization",
        },
    )
    assert preflight.status_code == 200, preflight.text
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "mcp-method" in allowed and "mcp-name" in allowed
