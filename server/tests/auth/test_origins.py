"""Browser origins: one allowlist (VISOR_ALLOWED_ORIGINS) for every door, whatever the host.

Requests without ``Origin`` (SDKs, curl, agents) are not affected. CORS is off unless the
allowlist names origins.
"""

from __future__ import annotations

from typing import Any

from helpers import plugin_sources

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


def _refused_origin(response: Any) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    # /mcp answers its refusals as JSON-RPC errors carrying the same envelope (app.mcp.refusals)
    error = body["error"]["data"]["error"] if "jsonrpc" in body else body["error"]
    assert error["details"] == {"code": "forbidden", "reason": "origin"}


def test_a_foreign_origin_is_refused_on_an_open_public_server(make_client: Any) -> None:
    """The issue's case: VISOR_HOST=0.0.0.0 used to switch the /mcp Origin check off."""
    client = make_client(plugin_sources("echo"), host="0.0.0.0", auth="off")
    evil = {"Origin": "http://evil.example"}
    _refused_origin(client.post("/mcp", json=INIT, headers={**MCP_HEADERS, **evil}))
    _refused_origin(client.post("/v1/analyze", json={"plugin": "echo"}, headers=evil))
    _refused_origin(client.get("/v1/jobs", headers=evil))
    # No Origin: a non-browser client, served.
    assert client.post("/mcp", json=INIT, headers=MCP_HEADERS).status_code == 200
    # Same origin: a page served by this very server.
    page = {"Origin": "http://visor.example:8000", "Host": "visor.example:8000"}
    assert client.get("/v1/plugins", headers=page).status_code == 200


def test_on_loopback_same_origin_must_be_a_loopback_host(make_client: Any) -> None:
    client = make_client([])
    local = {"Origin": "http://127.0.0.1:8000", "Host": "127.0.0.1:8000"}
    assert client.get("/v1/plugins", headers=local).status_code == 200
    # DNS rebinding: evil.example resolves to 127.0.0.1, so the browser calls it same-origin.
    rebound = {"Origin": "http://evil.example:8000", "Host": "evil.example:8000"}
    _refused_origin(client.get("/v1/plugins", headers=rebound))
    _refused_origin(client.get("/v1/plugins", headers={"Origin": "null"}))


def test_listed_origins_are_allowed_and_get_cors(make_client: Any) -> None:
    client = make_client([], allowed_origins=["https://app.example.com", "http://localhost:*"])
    for origin in ("https://app.example.com", "http://localhost:5173"):
        response = client.get("/v1/plugins", headers={"Origin": origin})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == origin
        preflight = client.options(
            "/v1/analyze",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    _refused_origin(client.get("/v1/plugins", headers={"Origin": "https://evil.example.com"}))
    _refused_origin(client.get("/v1/plugins", headers={"Origin": "http://localhost.evil:1"}))
    assert "access-control-allow-origin" not in client.get("/v1/plugins").headers


def test_cors_is_off_without_listed_origins(make_client: Any) -> None:
    client = make_client([])
    preflight = client.options(
        "/v1/analyze",
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code == 403


def test_settings_read_the_allowlist_from_the_environment(monkeypatch: Any) -> None:
    from app.settings import Settings

    monkeypatch.setenv("VISOR_ALLOWED_ORIGINS", "https://a.example, http://localhost:*")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.allowed_origins == ["https://a.example", "http://localhost:*"]
