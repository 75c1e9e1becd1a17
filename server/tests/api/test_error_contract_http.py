"""Each row of the error table, end to end through HTTP, and nothing internal leaks."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import b64, plugin_sources, png_bytes

from app.errors import ErrorCode, build_envelope
from app.plugins.base import Plugin, tool
from app.plugins.loader.plugin_loader import source_for_class
from app.plugins.runtime.tool_runner import ToolRunner

LEAK_MARKERS = ("Traceback", "_internal", 'File "', "hostile.py", "tool_runner.py")


class _Slow(Plugin):
    name = "slow"
    version = "1"

    @tool(timeout_s=0.1)
    def wait(self) -> dict:
        import time

        time.sleep(0.3)
        return {}


@pytest.fixture
def client(make_client: Any) -> TestClient:
    sources = [
        *plugin_sources(
            "echo", "raises", "returns_none", "bad_output", "startup_fails", "import_fails"
        ),
        source_for_class(_Slow),
    ]
    client: TestClient = make_client(sources)
    return client


def _assert_error(response: Any, status: int, etype: str, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"type", "message", "details", "plugin", "timestamp"}
    assert body["error"]["type"] == etype
    assert body["error"]["details"]["code"] == code
    for marker in LEAK_MARKERS:
        assert marker not in response.text
    return body["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("body", "status", "etype", "code"),
    [
        ({"plugin": "echo", "args": {"text": 7}}, 400, "ValidationError", "invalid_input"),
        ({"plugin": "image_info", "image": "@@@"}, 404, "PluginError", "plugin_not_found"),
        ({"plugin": "echo", "tool": "nope"}, 404, "PluginError", "tool_not_found"),
        ({"plugin": "import_fails"}, 503, "PluginError", "plugin_unavailable"),
        ({"plugin": "raises"}, 500, "ExecutionError", "tool_error"),
        ({"plugin": "returns_none"}, 500, "ValidationError", "invalid_output"),
        ({"plugin": "bad_output"}, 500, "ValidationError", "invalid_output"),
        ({"plugin": "slow"}, 504, "ExecutionError", "timeout"),
    ],
)
def test_error_rows_through_analyze(
    client: TestClient, body: dict[str, Any], status: int, etype: str, code: str
) -> None:
    _assert_error(client.post("/v1/analyze", json=body), status, etype, code)


def test_error_rows_through_run_by_path(client: TestClient) -> None:
    _assert_error(
        client.post("/v1/plugins/raises/tools/boom/run", json={}),
        500,
        "ExecutionError",
        "tool_error",
    )
    _assert_error(
        client.post("/v1/plugins/echo/tools/nope/run", json={}),
        404,
        "PluginError",
        "tool_not_found",
    )
    _assert_error(
        client.post("/v1/plugins/echo/tools/echo/run", content=b"{not json"),
        400,
        "ValidationError",
        "invalid_input",
    )
    _assert_error(
        client.post("/v1/plugins/echo/tools/echo/run", json=[1]),
        400,
        "ValidationError",
        "invalid_input",
    )


def test_startup_failure_is_reported_and_calls_fail_cleanly(client: TestClient) -> None:
    health = client.get("/v1/plugins/startup_fails/health").json()
    assert health["state"] == "FAILED"
    assert "model file missing" in health["reason"]
    response = client.post("/v1/analyze", json={"plugin": "startup_fails"})
    assert response.status_code in (500, 503)
    assert response.json()["error"]["type"] in ("ExecutionError", "PluginError")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (ErrorCode.WORKER_CRASHED, 500),
        (ErrorCode.MEMORY_LIMIT, 500),
        (ErrorCode.OVERLOADED, 503),
        (ErrorCode.INTERNAL, 500),
    ],
)
def test_executor_rows_map_to_their_status(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, code: ErrorCode, status: int
) -> None:
    """These envelopes come from the process executor; here we check the API's mapping."""

    def fake(self: ToolRunner, plugin_name: str, payload: dict, tool: str | None = None) -> Any:
        return {}, build_envelope(code, "simulated", plugin=plugin_name, exc=RuntimeError("secret"))

    monkeypatch.setattr(ToolRunner, "run", fake)
    response = client.post("/v1/analyze", json={"plugin": "echo"})
    error = _assert_error(response, status, build_envelope(code, "")["error"]["type"], code.value)
    assert "secret" not in response.text
    if code is ErrorCode.OVERLOADED:
        assert int(response.headers["Retry-After"]) >= 1
    assert error["plugin"] == "echo"


def test_monkeypatched_runner_reaches_the_api(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, dict, str | None]] = []

    def fake(self: ToolRunner, plugin_name: str, payload: dict, tool: str | None = None) -> Any:
        calls.append((plugin_name, payload, tool))
        return {"faked": True}, {}

    monkeypatch.setattr(ToolRunner, "run", fake)
    response = client.post(
        "/v1/analyze", json={"plugin": "anything", "tool": "t", "args": {"k": 1}}
    )
    assert response.status_code == 200
    assert response.json()["result"] == {"faked": True}
    response = client.post("/v1/plugins/x/tools/y/run", json={"a": 2})
    assert response.json()["result"] == {"faked": True}
    assert calls == [("anything", {"k": 1}, "t"), ("x", {"a": 2}, "y")]


def test_a_bug_in_an_endpoint_is_an_internal_error_without_details(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services.plugin_management_service import PluginManagementService

    def broken(self: Any) -> Any:
        raise RuntimeError("password=hunter2")

    monkeypatch.setattr(PluginManagementService, "list_plugins", broken)
    response = client.get("/v1/plugins")
    error = _assert_error(response, 500, "InternalError", "internal")
    assert error["message"] == "internal error"
    assert "hunter2" not in response.text


def test_framework_errors_use_the_envelope(client: TestClient) -> None:
    _assert_error(client.get("/v1/no-such-route"), 404, "ValidationError", "not_found")
    _assert_error(
        client.post("/v1/analyze", json={"tool": "x"}), 400, "ValidationError", "invalid_input"
    )
    _assert_error(
        client.post("/v1/analyze", content=b"nope"), 400, "ValidationError", "invalid_input"
    )
    _assert_error(
        client.post("/v1/analyze", json={"plugin": "echo", "bogus": 1}),
        400,
        "ValidationError",
        "invalid_input",
    )
    response = client.delete("/v1/analyze")
    assert response.status_code == 405
    assert set(response.json()) == {"error"}


def test_request_size_limit(make_client: Any) -> None:
    client = make_client(plugin_sources("echo"), max_request_bytes=10_000)
    big = b64(png_bytes((400, 400))) + "A" * 20_000
    response = client.post("/v1/analyze", json={"plugin": "echo", "image": big})
    _assert_error(response, 413, "ValidationError", "payload_too_large")
    assert (
        client.post("/v1/analyze", json={"plugin": "echo", "args": {"text": "ok"}}).status_code
        == 200
    )
