"""Malformed MCP messages get a short JSON-RPC error, in both protocol eras, never internals.

Regression tests for issue 10 items 8 and 9: pydantic's validation text (input values,
error types, ``errors.pydantic.dev`` links) reached clients, and a request whose ``id`` is
an object was answered ``202`` with an empty body.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from live_server import LiveServer

from app.mcp import jsonrpc

ERAS = {"legacy": "2025-11-25", "modern": "2026-07-28"}
_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}
_LEAKS = ("pydantic", "input_value", "[type=", "validation error", "Traceback", "For further")

MALFORMED: dict[str, Any] = {
    "object id": {"jsonrpc": "2.0", "id": {"a": 1}, "method": "tools/list"},
    "array id": {"jsonrpc": "2.0", "id": [1], "method": "tools/list"},
    "null id": {"jsonrpc": "2.0", "id": None, "method": "tools/list"},
    "bool id": {"jsonrpc": "2.0", "id": True, "method": "tools/list"},
    "float id": {"jsonrpc": "2.0", "id": 1.5, "method": "tools/list"},
    "not json": b"{not json",
    "a batch": [{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}],
    "a number": 5,
    "no method": {"jsonrpc": "2.0", "id": 1},
    "method not a string": {"jsonrpc": "2.0", "id": 1, "method": 7},
    "params a string": {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": "x"},
    "wrong jsonrpc": {"jsonrpc": "1.0", "id": 1, "method": "tools/list"},
    "a posted response": {"jsonrpc": "2.0", "id": 1, "result": 5},
    "arguments not an object": {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "echo.echo", "arguments": "x", "_meta": _META},
    },
    "name not a string": {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": 5, "arguments": {}, "_meta": _META},
    },
}


def _post(live: LiveServer, era: str, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": ERAS[era],
    }
    if era == "modern":
        headers |= {"mcp-method": "tools/call", "mcp-name": "echo.echo"}
    return httpx.post(live.mcp_url, content=content, headers=headers)


@pytest.mark.parametrize("era", list(ERAS))
@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_messages_get_a_plain_json_rpc_error(
    live: LiveServer, era: str, case: str
) -> None:
    response = _post(live, era, MALFORMED[case])

    assert response.status_code in (200, 400)  # never 202 with nothing, never 5xx
    body = response.json()
    assert body["jsonrpc"] == "2.0"
    assert isinstance(body["error"]["code"], int) and -32768 <= body["error"]["code"] <= -32000
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    for leak in _LEAKS:
        assert leak.lower() not in response.text.lower(), (case, response.text)


@pytest.mark.parametrize("era", list(ERAS))
def test_object_id_is_an_invalid_request_error_not_202(live: LiveServer, era: str) -> None:
    response = _post(live, era, MALFORMED["object id"])
    assert response.status_code == 400
    assert response.json() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32600, "message": "Invalid request: id must be a string or an integer"},
    }


def test_screen_accepts_well_formed_messages() -> None:
    request = jsonrpc.screen(b'{"jsonrpc": "2.0", "id": "a", "method": "tools/list"}')
    assert request == jsonrpc.Message("tools/list", "a", None)
    cancelled = jsonrpc.screen(
        b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}'
    )
    assert isinstance(cancelled, jsonrpc.Message) and cancelled.cancelled_request_id() == 3
    progress = jsonrpc.screen(
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"progressToken":1}}}'
    )
    assert isinstance(progress, jsonrpc.Message) and progress.wants_progress


def test_redaction_rewrites_errors_only() -> None:
    leaky = orjson.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "error": {
                "code": -32602,
                "message": "1 validation error for X\n  see https://errors.pydantic.dev/2/v/x",
                "data": "input_value='x'",
            },
        }
    )
    assert orjson.loads(jsonrpc.redact_error_body(leaky) or b"") == {
        "jsonrpc": "2.0",
        "id": 1,
        "error": {"code": -32602, "message": "Invalid request parameters"},
    }
    result = orjson.dumps({"jsonrpc": "2.0", "id": 1, "result": {"text": "validation error"}})
    assert jsonrpc.redact_error_body(result) is None  # tool results are never touched
    envelope = {"error": {"type": "PluginError", "message": "m", "details": {}}}
    ours = orjson.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "error": {"code": -32602, "message": "[type=x", "data": envelope},
        }
    )
    assert orjson.loads(jsonrpc.redact_error_body(ours) or b"")["error"]["data"] == envelope
