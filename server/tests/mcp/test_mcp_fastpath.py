"""The fast path answers the common call exactly as the SDK's own path would."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from live_server import LiveServer

from app.mcp.fastpath import FastToolCalls

VERSION = "2026-07-28"


def _call(name: str, arguments: Any, header_name: str | None = None) -> tuple[dict, dict]:
    body = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {
            "name": name,
            "arguments": arguments,
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": VERSION,
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    }
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": VERSION,
        "Mcp-Method": "tools/call",
        "Mcp-Name": header_name or name,
    }
    return body, headers


CASES = {
    "success": _call("echo.echo", {"text": "hi"}),
    "tool raised": _call("raises.boom", {}),
    "invalid input": _call("echo.echo", {"text": 42}),
    "strict output schema, bad image": _call("image_info.describe", {"image": "nope"}),
    "header disagrees with body": _call("echo.echo", {"text": "hi"}, header_name="echo.noop"),
    "unknown tool": _call("echo.nothing", {}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fast_and_sdk_paths_answer_alike(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    body, headers = CASES[case]
    served: list[bool] = []
    serve = FastToolCalls.serve

    async def counting(self: FastToolCalls, *args: Any) -> bool:
        served.append(await serve(self, *args))
        return served[-1]

    monkeypatch.setattr(FastToolCalls, "serve", counting)
    fast = httpx.post(live.mcp_url, json=body, headers=headers, timeout=60)
    endpoint = live.app.state.mcp
    monkeypatch.setattr(endpoint, "_fast", None)
    sdk = httpx.post(live.mcp_url, json=body, headers=headers, timeout=60)

    assert fast.status_code == sdk.status_code
    assert _stable(fast.json()) == _stable(sdk.json())
    common = ("success", "tool raised", "invalid input", "strict output schema, bad image")
    assert served == [case in common]  # the common shape took the fast path; the rest did not


def _stable(answer: Any) -> Any:
    """The answer without what differs call to call (envelope timestamps)."""
    if isinstance(answer, dict):
        return {k: _stable(v) for k, v in answer.items() if k != "timestamp"}
    if isinstance(answer, list):
        return [_stable(item) for item in answer]
    if isinstance(answer, str) and '"timestamp"' in answer:
        return answer[: answer.index('"timestamp"')]
    return answer
