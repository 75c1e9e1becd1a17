"""Every route of the app — today's and every one added later — against ONE scope table.

The routes come from the app's own route table, the expected answers from
``app.auth.policy.ROUTE_SCOPES``: each route is called with no key, a revoked key, an
expired key and a key of each scope. A route without a declared scope fails here with the
exact line to add.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from auth_helpers import Keys, bearer
from fastapi.testclient import TestClient
from starlette.routing import Mount, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from app.auth.policy import (
    ROUTE_SCOPES,
    RouteKey,
    RoutePolicy,
    RouteView,
    flat_routes,
    missing_entries,
    route_keys,
)
from app.auth.scopes import Access, Scope

REFUSED = (401, 403)


def _all_route_keys(client: TestClient) -> list[tuple[RouteKey, RouteView]]:
    routes = flat_routes(client.app.routes)  # type: ignore[attr-defined]
    return [(key, route) for route in routes for key in route_keys(route)]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "probe", path)


def _call(client: TestClient, key: RouteKey, route: RouteView, headers: dict[str, str]) -> int:
    """The status the route answers (for WebSockets: 403 when refused at the handshake)."""
    if route.kind is WebSocketRoute:
        try:
            with client.websocket_connect(_concrete(key.path), headers=headers):
                return 101
        except WebSocketDisconnect as exc:
            return 403 if exc.code == 1008 else 101
    path = _concrete(key.path)
    if route.kind is Mount:
        path = path.rstrip("/") + "/probe"
    method = "POST" if key.method == "*" else key.method
    kwargs: dict[str, Any] = {"headers": headers}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    return client.request(method, path, **kwargs).status_code


def test_every_route_declares_its_scope(secured: tuple[TestClient, Keys]) -> None:
    client, _ = secured
    missing = missing_entries(client.app.routes)  # type: ignore[attr-defined]
    if missing:
        lines = "\n".join(f"    {k.entry!r}: READ,  # or PUBLIC / RUN / ADMIN" for k in missing)
        pytest.fail(
            "these routes have no declared scope; add them to ROUTE_SCOPES in "
            f"server/app/auth/policy.py:\n{lines}",
            pytrace=False,
        )


def test_every_route_answers_each_credential_as_the_table_says(
    secured: tuple[TestClient, Keys],
) -> None:
    client, keys = secured
    checked = 0
    problems: list[str] = []
    for key, route in _all_route_keys(client):
        access = ROUTE_SCOPES.get(key.entry)
        if access is None:
            continue  # reported by test_every_route_declares_its_scope
        cases: list[tuple[str, dict[str, str], bool]] = [
            ("no key", {}, access is Access.PUBLIC),
            ("revoked key", bearer(keys.revoked), access is Access.PUBLIC),
            ("expired key", bearer(keys.expired), access is Access.PUBLIC),
        ]
        for scope in Scope:
            cases.append((f"{scope} key", bearer(getattr(keys, scope.value)), scope.allows(access)))
        for label, headers, allowed in cases:
            status = _call(client, key, route, headers)
            checked += 1
            if allowed and status in REFUSED:
                problems.append(f"{key.method} {key.path} with {label}: {status}, expected served")
            if not allowed:
                expected = 401 if label in ("no key", "revoked key", "expired key") else 403
                if route.kind is WebSocketRoute:
                    expected = 403
                if status != expected:
                    problems.append(f"{key.method} {key.path} with {label}: {status} != {expected}")
    assert not problems, "\n".join(problems)
    assert checked >= 6 * len(ROUTE_SCOPES)  # every declared route was exercised


def test_refusals_are_envelopes_with_a_bearer_challenge(secured: tuple[TestClient, Keys]) -> None:
    client, keys = secured
    missing = client.get("/v1/plugins")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json()["error"]["details"]["code"] == "unauthorized"
    assert missing.json()["error"]["type"] == "ValidationError"

    wrong = client.get("/v1/plugins", headers=bearer(keys.run[:-4] + "AAAA"))
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["www-authenticate"]
    # Each says what is wrong first, then how to get a key that works (issue 29).
    assert wrong.json()["error"]["message"].startswith("unknown API key: send one as")
    for key, why in ((keys.revoked, "was revoked"), (keys.expired, "has expired")):
        message = client.get("/v1/plugins", headers=bearer(key)).json()["error"]["message"]
        assert message.startswith(f"this API key {why}: ") and "visor keys create" in message

    forbidden = client.post("/v1/plugins/reload", headers=bearer(keys.run))
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["details"] == {
        "code": "forbidden",
        "scope": "run",
        "required": "admin",
    }
    assert "x-request-id" in forbidden.headers


def test_x_api_key_header_and_unrouted_paths(secured: tuple[TestClient, Keys]) -> None:
    client, keys = secured
    assert client.get("/v1/plugins", headers={"X-API-Key": keys.read}).status_code == 200
    # Unknown paths: no key learns nothing (401); a key gets the honest 404.
    assert client.get("/v1/nope").status_code == 401
    assert client.get("/v1/nope", headers=bearer(keys.read)).status_code == 404
    # A method the route does not take is not a way around it.
    assert client.get("/v1/plugins/reload").status_code == 401
    assert client.put("/v1/analyze", headers=bearer(keys.read)).status_code == 405


def test_open_server_without_keys_serves_everything(make_client: Any) -> None:
    client = make_client([])
    assert client.post("/v1/plugins/reload").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/openapi.json").status_code == 200


def test_an_undeclared_route_is_named_and_served_to_admins_only(
    secured: tuple[TestClient, Keys],
) -> None:
    client, keys = secured
    app = client.app

    @app.get("/v1/undeclared")  # type: ignore[attr-defined,misc]
    def undeclared() -> dict[str, bool]:
        return {"ok": True}

    assert [k.entry for k in missing_entries(app.routes)] == [("GET", "/v1/undeclared")]  # type: ignore[attr-defined]
    policy = RoutePolicy(app.routes)  # type: ignore[attr-defined]
    assert policy.access_for("GET", "/v1/undeclared") is Access.ADMIN  # fail closed
    assert policy.undeclared == [RouteKey("GET", "/v1/undeclared")]
    del keys


def test_the_table_names_no_route_that_does_not_exist(secured: tuple[TestClient, Keys]) -> None:
    client, _ = secured
    served = {key.entry for key, _ in _all_route_keys(client)}
    stale = sorted(set(ROUTE_SCOPES) - served)
    assert not stale, f"ROUTE_SCOPES names routes the app does not have: {stale}"


def test_websocket_routes_are_covered(
    secured: tuple[TestClient, Keys], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No WebSocket route exists yet (live video will add one): the door is ready for it."""
    client, keys = secured
    app = client.app

    async def probe(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    app.router.add_websocket_route("/v1/ws-probe", probe)  # type: ignore[attr-defined]
    monkeypatch.setitem(ROUTE_SCOPES, ("WS", "/v1/ws-probe"), Access.RUN)
    view = next(r for r in flat_routes(app.routes) if r.path == "/v1/ws-probe")  # type: ignore[attr-defined]
    key = RouteKey("WS", "/v1/ws-probe")
    assert _call(client, key, view, {}) == 403
    assert _call(client, key, view, bearer(keys.read)) == 403
    assert _call(client, key, view, bearer(keys.revoked)) == 403
    with client.websocket_connect("/v1/ws-probe", headers=bearer(keys.run)) as ws:
        assert ws.receive_text() == "hello"
