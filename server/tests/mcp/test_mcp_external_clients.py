"""Clients nobody here wrote, against a live Visor: the MCP Inspector CLI and the TypeScript
SDK 1.x. Both turned every tool failure into ``McpError -32602`` while Visor sent the error
envelope as ``structuredContent``; both must get a plain ``isError`` result.

Skipped, saying why, where Node.js is not installed (see :mod:`node_toolchain`).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import builtin_sources, plugin_sources
from live_server import LiveServer
from node_toolchain import NodeClients, NodeMissing, install
from visor_test_plugins.blocking import BlockingPlugin

from app.plugins.loader.plugin_loader import source_for_class
from app.settings import Settings

_RUN_TIMEOUT_S = 180

pytestmark = pytest.mark.timeout(900)  # a first run installs the clients (npm ci)


@pytest.fixture(scope="session")
def node_clients() -> NodeClients:
    try:
        return install()
    except NodeMissing as exc:
        pytest.skip(f"external MCP client tests skipped: {exc}")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("mcp-external") / "data",
        tool_timeouts={"blocking": 600},
        _env_file=None,
    )
    sources = [
        *plugin_sources("echo", "raises"),
        *builtin_sources("image_info"),  # a strict output schema an envelope would break
        source_for_class(BlockingPlugin),
    ]
    server = LiveServer(settings, sources).start()
    yield server
    server.stop()


def _inspector(
    clients: NodeClients, url: str, tmp_path: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """``npx @modelcontextprotocol/inspector --cli URL ...`` with the pinned install."""
    return subprocess.run(
        ["npx", "--no-install", "@modelcontextprotocol/inspector", "--cli", url, *args],
        cwd=clients.root,
        env=clients.env(MCP_CATALOG_PATH=str(tmp_path / "catalog.json")),
        capture_output=True,
        text=True,
        timeout=_RUN_TIMEOUT_S,
    )


def _stdout_json(done: subprocess.CompletedProcess[str]) -> Any:
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"no JSON from the client (exit {done.returncode}):\n{done.stderr[-3000:]}")


def test_inspector_cli_calls_a_tool(
    node_clients: NodeClients, live: LiveServer, tmp_path: Path
) -> None:
    args = ("--method", "tools/call", "--tool-name", "echo.echo", "--tool-arg", "text=hello")
    done = _inspector(node_clients, live.mcp_url, tmp_path, *args)

    assert done.returncode == 0, done.stderr
    result = _stdout_json(done)
    assert result["isError"] is False
    assert result["structuredContent"]["text"] == "hello"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("--tool-name", "raises.boom"), "tool_error"),
        (("--tool-name", "image_info.describe", "--tool-arg", "image=garbage"), "invalid_input"),
    ],
    ids=["tool raised", "bad input, strict output schema"],
)
def test_inspector_cli_gets_a_tool_failure_as_an_error_result(
    node_clients: NodeClients, live: LiveServer, tmp_path: Path, args: tuple[str, ...], code: str
) -> None:
    done = _inspector(node_clients, live.mcp_url, tmp_path, "--method", "tools/call", *args)

    assert "-32602" not in done.stdout + done.stderr  # no "structured content" protocol error
    result = _stdout_json(done)
    assert result["isError"] is True
    assert "structuredContent" not in result
    error = json.loads(result["content"][0]["text"])["error"]
    assert error["details"]["code"] == code
    assert "tool_is_error" in done.stderr  # the CLI's own report of an isError result


def test_inspector_cli_lists_the_tools(
    node_clients: NodeClients, live: LiveServer, tmp_path: Path
) -> None:
    done = _inspector(node_clients, live.mcp_url, tmp_path, "--method", "tools/list")

    assert done.returncode == 0, done.stderr
    tools = {tool["name"]: tool for tool in _stdout_json(done)["tools"]}
    assert {"echo.echo", "raises.boom", "blocking.block"} <= set(tools)
    assert tools["echo.echo"]["annotations"]["readOnlyHint"] is True


def test_typescript_sdk_lists_calls_fails_and_cancels(
    node_clients: NodeClients, live: LiveServer, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    cancelled_before = live.app.state.registry.health("blocking").cancelled_count
    script = node_clients.script("sdk_client.mjs")
    done = subprocess.run(
        [str(node_clients.node), str(script), live.mcp_url, str(marker)],
        cwd=node_clients.root,
        env=node_clients.env(),
        capture_output=True,
        text=True,
        timeout=_RUN_TIMEOUT_S,
    )

    assert done.returncode == 0, done.stderr
    report = _stdout_json(done)
    assert {"echo.echo", "raises.boom"} <= set(report["tools"])
    assert report["success"]["isError"] is False
    assert report["success"]["structuredContent"]["text"] == "from ts"
    for name, code in (("failure", "tool_error"), ("invalid", "invalid_input")):
        failure = report[name]
        assert failure["isError"] is True and "structuredContent" not in failure
        assert json.loads(failure["content"][0]["text"])["error"]["details"]["code"] == code
    # The SDK rejected the aborted call and sent notifications/cancelled: the tool stopped.
    assert "test cancels" in report["cancelled"]
    worker_pid = int(marker.read_text())
    registry = live.app.state.registry
    while registry.health("blocking").cancelled_count == cancelled_before:
        time.sleep(0.02)  # the kill lands a moment after the SDK moved on (timeout: the mark)
    assert registry.health("blocking").cancelled_count == cancelled_before + 1
    assert worker_pid != _pid_of_next_call(live)


def _pid_of_next_call(live: LiveServer) -> int:
    response = httpx.post(f"{live.url}/v1/plugins/blocking/tools/pid/run", json={}, timeout=60)
    response.raise_for_status()
    return int(response.json()["result"]["pid"])
