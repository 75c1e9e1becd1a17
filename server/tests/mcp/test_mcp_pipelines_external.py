"""Pipelines as MCP tools, from clients nobody here wrote: the MCP Inspector CLI and the
TypeScript SDK 1.x. Both check a result's ``structuredContent`` against the tool's listed
output schema, so they prove the generated pipeline output schema fits the real result.

Skipped, saying why, where Node.js is not installed (see :mod:`node_toolchain`).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import b64, builtin_sources
from live_server import LiveServer
from node_toolchain import NodeClients, NodeMissing, install
from pipeline_specs import FACE_COLOURS, FAILING

from app.settings import Settings

_RUN_TIMEOUT_S = 180

pytestmark = pytest.mark.timeout(900)  # a first run installs the clients (npm ci)

SAMPLES = Path(__file__).resolve().parents[3] / "samples"


@pytest.fixture(scope="session")
def node_clients() -> NodeClients:
    try:
        return install()
    except NodeMissing as exc:
        pytest.skip(f"external MCP client tests skipped: {exc}")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("mcp-pipelines-external") / "data",
        input_roots=[SAMPLES],
        _env_file=None,
    )
    server = LiveServer(settings, builtin_sources("faces", "image_info")).start()
    for spec in (FACE_COLOURS, FAILING):
        httpx.post(f"{server.url}/v1/pipelines", json=spec, timeout=30).raise_for_status()
    yield server
    server.stop()


def _stdout_json(done: subprocess.CompletedProcess[str]) -> Any:
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"no JSON from the client (exit {done.returncode}):\n{done.stderr[-3000:]}")


def _face() -> str:
    return b64((SAMPLES / "face.jpg").read_bytes())


def test_typescript_sdk_calls_pipelines(node_clients: NodeClients, live: LiveServer) -> None:
    script = node_clients.script("pipeline_client.mjs")
    done = subprocess.run(
        [str(node_clients.node), str(script), live.mcp_url, _face(),
         "pipeline.face-colours", "pipeline.failing"],
        cwd=node_clients.root, env=node_clients.env(),
        capture_output=True, text=True, timeout=_RUN_TIMEOUT_S,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    report = _stdout_json(done)
    listed = {tool["name"]: tool for tool in report["tools"]}
    assert set(listed) == {"pipeline.face-colours", "pipeline.failing"}
    success = report["success"]
    assert success["isError"] is False  # the SDK accepted structuredContent against the schema
    colours = success["structuredContent"]["steps"]["colours"]
    assert colours and all("hex" in c["result"]["mean_color"] for c in colours)
    failure = report["failure"]
    assert failure["isError"] is True and "structuredContent" not in failure
    error = json.loads(failure["content"][0]["text"])["error"]
    assert error["details"]["step"] == "colours"


def test_inspector_cli_calls_a_pipeline(
    node_clients: NodeClients, live: LiveServer, tmp_path: Path
) -> None:
    done = subprocess.run(
        ["npx", "--no-install", "@modelcontextprotocol/inspector", "--cli", live.mcp_url,
         "--method", "tools/call", "--tool-name", "pipeline.face-colours",
         "--tool-arg", f"image_path={SAMPLES / 'face.jpg'}"],
        cwd=node_clients.root, env=node_clients.env(MCP_CATALOG_PATH=str(tmp_path / "c.json")),
        capture_output=True, text=True, timeout=_RUN_TIMEOUT_S,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = _stdout_json(done)
    assert result["isError"] is False  # structuredContent passed the Inspector's schema check
    faces = result["structuredContent"]["steps"]["faces"]["faces"]
    assert len(result["structuredContent"]["steps"]["colours"]) == len(faces) > 0


def test_inspector_cli_lists_pipelines(
    node_clients: NodeClients, live: LiveServer, tmp_path: Path
) -> None:
    done = subprocess.run(
        ["npx", "--no-install", "@modelcontextprotocol/inspector", "--cli", live.mcp_url,
         "--method", "tools/list"],
        cwd=node_clients.root, env=node_clients.env(MCP_CATALOG_PATH=str(tmp_path / "c.json")),
        capture_output=True, text=True, timeout=_RUN_TIMEOUT_S,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    tools = {tool["name"]: tool for tool in _stdout_json(done)["tools"]}
    assert tools["pipeline.face-colours"]["inputSchema"]["properties"]["image"]["type"] == "string"
    assert "steps" in tools["pipeline.face-colours"]["outputSchema"]["properties"]
