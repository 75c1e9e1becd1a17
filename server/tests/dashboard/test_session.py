"""The dashboard's key session without a browser: cookies, CSRF, scopes, sign-out."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import plugin_sources

from app.auth.credentials import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, csrf_token
from app.auth.keys import KeyCreate
from app.auth.scopes import Scope
from app.auth.sessions import SessionStore


@pytest.fixture
def keyed(make_client: Any) -> tuple[TestClient, dict[str, str]]:
    client: TestClient = make_client(plugin_sources("echo"), auth_failures_burst=1000)
    auth = client.app.state.auth  # type: ignore[attr-defined]
    keys = {
        scope.value: auth.create_key(KeyCreate(name=f"{scope.value}-key", scope=scope)).secret
        for scope in Scope
    }
    return client, keys


def sign_in(client: TestClient, key: str) -> str:
    response = client.post("/ui/session", json={"key": key})
    assert response.status_code == 200, response.text
    return str(response.cookies[CSRF_COOKIE])


def test_pages_load_without_a_key_but_data_needs_one(keyed: Any) -> None:
    client, _ = keyed
    assert client.get("/").status_code == 200
    assert client.get("/ui/static/css/dashboard.css").status_code == 200
    assert client.get("/ui/api/overview").status_code == 401
    assert client.get("/v1/plugins").status_code == 401
    assert client.get("/ui/session").json() == {
        "enabled": True, "authenticated": False, "via_cookie": False,
        "scope": None, "key_id": None, "key_name": None,
    }  # fmt: skip


def test_sign_in_sets_an_httponly_session_and_a_csrf_token(keyed: Any) -> None:
    client, keys = keyed
    response = client.post("/ui/session", json={"key": keys["run"]})
    assert response.status_code == 200
    assert response.json()["scope"] == "run" and response.json()["via_cookie"] is True
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(f"{SESSION_COOKIE}="))
    csrf = next(c for c in cookies if c.startswith(f"{CSRF_COOKIE}="))
    assert "HttpOnly" in session and "SameSite=strict" in session and "Path=/" in session
    assert "HttpOnly" not in csrf and "SameSite=strict" in csrf
    token = response.cookies[SESSION_COOKIE]
    assert token.startswith("vss_") and keys["run"] not in token  # a session, not the key
    assert keys["run"].split("_", 2)[2] not in " ".join(cookies)
    assert response.cookies[CSRF_COOKIE] == csrf_token(token)
    assert keys["run"] not in response.text  # the key is never echoed back in the body
    # The cookie now authenticates reads...
    assert client.get("/ui/api/overview").status_code == 200
    assert client.get("/v1/plugins").status_code == 200
    assert client.get("/ui/session").json()["key_name"] == "run-key"


def test_state_changing_requests_need_the_csrf_token(keyed: Any) -> None:
    client, keys = keyed
    token = sign_in(client, keys["run"])
    body = {"plugin": "echo", "args": {"text": "hi"}}
    assert client.post("/v1/analyze", json=body).status_code == 401  # cookie alone: no
    wrong = client.post("/v1/analyze", json=body, headers={CSRF_HEADER: csrf_token("other")})
    assert wrong.status_code == 401
    ok = client.post("/v1/analyze", json=body, headers={CSRF_HEADER: token})
    assert ok.status_code == 200 and ok.json()["result"]["text"] == "hi"
    # A header key still works on its own, cookie or not.
    assert (
        client.post(
            "/v1/analyze", json=body, headers={"Authorization": f"Bearer {keys['run']}"}
        ).status_code
        == 200
    )


def test_a_read_session_sees_but_cannot_run_or_cancel(keyed: Any) -> None:
    client, keys = keyed
    job = client.post(
        "/v1/jobs", json={"plugin": "echo", "args": {}}, headers={"X-API-Key": keys["admin"]}
    ).json()
    token = sign_in(client, keys["read"])
    headers = {CSRF_HEADER: token}
    assert client.get("/v1/plugins").status_code == 200
    assert client.get("/ui/api/overview").status_code == 200
    run = client.post("/v1/analyze", json={"plugin": "echo", "args": {}}, headers=headers)
    assert run.status_code == 403 and run.json()["error"]["details"]["code"] == "forbidden"
    assert client.post("/v1/jobs", json={"plugin": "echo"}, headers=headers).status_code == 403
    assert client.delete(f"/v1/jobs/{job['id']}", headers=headers).status_code == 403


def test_wrong_keys_are_refused_and_sign_out_forgets_the_session(keyed: Any) -> None:
    client, keys = keyed
    refused = client.post("/ui/session", json={"key": keys["run"][:-4] + "AAAA"})
    assert refused.status_code == 401
    assert refused.json()["error"]["details"]["code"] == "unauthorized"
    assert SESSION_COOKIE not in refused.cookies
    sign_in(client, keys["admin"])
    assert client.get("/v1/plugins").status_code == 200
    out = client.delete("/ui/session")
    assert out.status_code == 200 and out.json()["authenticated"] is False
    assert client.get("/v1/plugins").status_code == 401


def test_an_open_server_reports_no_session_needed(make_client: Any) -> None:
    client = make_client(plugin_sources("echo"))
    info = client.get("/ui/session").json()
    assert info["enabled"] is False and info["authenticated"] is False
    assert client.post("/v1/analyze", json={"plugin": "echo", "args": {}}).status_code == 200


# -- server-side sessions: ended by sign-out and by revocation, never a key -------------------

ENDED = "this dashboard session has ended: sign in again"


def test_a_session_dies_with_its_key(keyed: Any) -> None:
    client, keys = keyed
    sign_in(client, keys["read"])
    assert client.get("/v1/plugins").status_code == 200
    client.app.state.auth.revoke_key("read-key")  # type: ignore[attr-defined]
    refused = client.get("/v1/plugins")
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == ENDED
    store = SessionStore(client.app.state.auth.index.store.engine)  # type: ignore[attr-defined]
    assert store.live(0) == []  # revoking deleted the key's sessions


def test_sign_out_ends_the_session_on_the_server(keyed: Any) -> None:
    """A copy of the cookie kept from before sign-out (a stolen cookie, another tab) is no
    credential afterwards: the session is gone, not only the browser's cookie."""
    client, keys = keyed
    sign_in(client, keys["admin"])
    token = client.cookies[SESSION_COOKIE]
    assert client.delete("/ui/session").status_code == 200
    client.cookies.set(SESSION_COOKIE, token)
    replay = client.get("/v1/plugins")
    assert replay.status_code == 401, replay.text
    assert replay.json()["error"]["message"] == ENDED
    assert client.get("/ui/session").json()["authenticated"] is False


def test_a_session_token_is_never_accepted_as_a_key(keyed: Any) -> None:
    """Pasted into the sign-in form it mints no new session; in a header it is no key."""
    client, keys = keyed
    sign_in(client, keys["admin"])
    token = client.cookies[SESSION_COOKIE]
    client.cookies.clear()
    again = client.post("/ui/session", json={"key": token})
    assert again.status_code == 401, again.text
    assert again.json()["error"]["message"].startswith("the key is not a Visor API key: ")
    assert "visor keys create" in again.json()["error"]["message"]
    assert SESSION_COOKIE not in again.cookies
    for headers in ({"Authorization": f"Bearer {token}"}, {"X-API-Key": token}):
        refused = client.get("/v1/plugins", headers=headers)
        assert refused.status_code == 401, refused.text


def test_a_session_expires(keyed: Any) -> None:
    client, keys = keyed
    index = client.app.state.auth.index  # type: ignore[attr-defined]
    _, stale = index.open_session(keys["read"], ttl_s=-1)
    assert index.authenticate_session(stale).value == ENDED
    client.cookies.set(SESSION_COOKIE, stale)
    assert client.get("/v1/plugins").status_code == 401
    _, token = index.open_session(keys["read"], ttl_s=3600)
    client.cookies.set(SESSION_COOKIE, token)
    assert client.get("/v1/plugins").status_code == 200


def test_a_session_is_shared_by_servers_on_one_database(make_client: Any) -> None:
    """Signed in on one server, the next request may reach another (a load balancer): it
    finds the new session in the database at once; a sign-out reaches it at its refresh."""
    first: TestClient = make_client(plugin_sources("echo"))
    second: TestClient = make_client(plugin_sources("echo"))
    auth = first.app.state.auth  # type: ignore[attr-defined]
    key = auth.create_key(KeyCreate(name="ops", scope=Scope.READ)).secret
    second.app.state.auth.index.reload()  # type: ignore[attr-defined]
    sign_in(first, key)
    second.cookies.set(SESSION_COOKIE, first.cookies[SESSION_COOKIE])
    assert second.get("/v1/plugins").status_code == 200
    first.delete("/ui/session")
    second.app.state.auth.index.reload()  # type: ignore[attr-defined]  (its refresh)
    assert second.get("/v1/plugins").status_code == 401
