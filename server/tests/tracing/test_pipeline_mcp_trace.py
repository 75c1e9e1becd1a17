"""The span trees of a pipeline (one span per step, each over its own governed call) and
of an MCP tool call (under the door's span, though the MCP SDK runs it in its own task)."""

from __future__ import annotations

from typing import Any

import orjson
from helpers import b64, builtin_sources, plugin_sources, png_bytes
from span_tree import Spans


def test_pipeline_steps_are_spans_over_their_calls(spans: Spans, make_client: Any) -> None:
    client = make_client([*builtin_sources("image_info"), *plugin_sources("echo")])
    spec = {
        "name": "traced",
        "steps": [
            {"id": "size", "tool": "image_info.describe"},
            {"id": "say", "tool": "echo.echo", "args_from": {"text": "size.format"}},
        ],
    }
    response = client.post("/v1/pipelines/run", json={"spec": spec, "image": b64(png_bytes())})
    assert response.status_code == 200, response.text

    pipeline = spans.one("visor.pipeline", **{"visor.pipeline.name": "traced"})
    assert spans.path(pipeline) == ["POST /v1/pipelines/run", "visor.pipeline"]
    steps = sorted(spans.children(pipeline), key=lambda s: s.start_time or 0)
    assert [s.attributes["visor.pipeline.step"] for s in steps] == ["size", "say"]
    for step, plugin in zip(steps, ["image_info", "echo"], strict=True):
        call = spans.child(step, "visor.call")
        assert call.attributes["visor.plugin"] == plugin
        assert spans.child(spans.child(call, "visor.execute"), "visor.tool_run")


def test_an_mcp_tool_call_is_traced_under_its_http_request(spans: Spans, make_client: Any) -> None:
    client = make_client(plugin_sources("echo"))
    body = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "echo.echo", "arguments": {"text": "hi"}},
    }
    caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    response = client.post(
        "/mcp",
        content=orjson.dumps(body),
        headers={
            "accept": "application/json, text/event-stream",
            "content-type": "application/json",
            "mcp-protocol-version": "2025-11-25",
            "traceparent": f"00-{caller_trace}-00f067aa0ba902b7-01",
            "host": "127.0.0.1:8000",  # the SDK's DNS-rebinding check on a loopback server
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["result"]["isError"] is False

    mcp_call = spans.one("visor.mcp.call", **{"visor.mcp.tool": "echo.echo"})
    assert spans.path(mcp_call) == ["POST /mcp", "visor.mcp.call"]
    assert f"{mcp_call.context.trace_id:032x}" == caller_trace
    call = spans.child(mcp_call, "visor.call")
    assert call.attributes["visor.outcome"] == "SUCCESS"
    assert spans.child(spans.child(call, "visor.execute"), "visor.tool_run")
