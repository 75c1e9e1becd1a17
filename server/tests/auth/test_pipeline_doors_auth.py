"""Pipelines over MCP with keys: a ``read`` key lists them but cannot run one; ``run`` can."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from auth_helpers import Keys, bearer, create_keys
from helpers import plugin_sources
from live_server import LiveServer
from test_mcp_auth import mcp_client

from app.settings import Settings

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
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("pipeline-auth") / "data",
        force_in_process=True,
        auth_failures_burst=1000,
        _env_file=None,
    )
    server = LiveServer(settings, plugin_sources("echo")).start()
    keys = create_keys(server.app.state.auth, rate_per_s=1000.0, burst=1000)
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
