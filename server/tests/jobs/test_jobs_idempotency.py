"""Issue 24 item 13: ``Idempotency-Key`` makes job submits safe to retry.

Same key + same request from the same principal → 200 with the original job; same key +
another request → 409; another principal's key is another key; the key goes with its job.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from helpers import builtin_sources, plugin_sources, png_bytes

from app.auth.keys import KeyCreate
from app.auth.scopes import Scope


def _jobs(client: TestClient, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    page = client.get("/v1/jobs", params={"limit": 100}, headers=headers or {}).json()
    jobs: list[dict[str, Any]] = page["jobs"]
    return jobs


def test_a_retried_submit_gets_the_original_job(make_client: Any) -> None:
    client = make_client(plugin_sources("echo"))
    body = {"plugin": "echo", "tool": "echo", "args": {"text": "once"}}
    first = client.post("/v1/jobs", json=body, headers={"Idempotency-Key": "order-7"})
    assert first.status_code == 202, first.text
    assert "idempotent-replayed" not in first.headers
    # The same request, re-encoded (key order, spacing): still the same request.
    again = client.post(
        "/v1/jobs",
        content=json.dumps({"args": {"text": "once"}, "tool": "echo", "plugin": "echo"}, indent=2),
        headers={"Idempotency-Key": "order-7", "Content-Type": "application/json"},
    )
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == f"/v1/jobs/{first.json()['id']}"
    assert [job["id"] for job in _jobs(client)] == [first.json()["id"]]  # no duplicate

    plain = client.post("/v1/jobs", json=body)  # without a key: a new job, as before
    assert plain.status_code == 202 and plain.json()["id"] != first.json()["id"]


def test_the_same_key_with_another_request_is_a_conflict(make_client: Any) -> None:
    client = make_client(plugin_sources("echo"))
    first = client.post(
        "/v1/jobs",
        json={"plugin": "echo", "args": {"text": "a"}},
        headers={"Idempotency-Key": "k1"},
    )
    assert first.status_code == 202
    other = client.post(
        "/v1/jobs",
        json={"plugin": "echo", "args": {"text": "b"}},
        headers={"Idempotency-Key": "k1"},
    )
    assert other.status_code == 409, other.text
    error = other.json()["error"]
    assert error["details"]["code"] == "conflict"
    assert error["details"]["job_id"] == first.json()["id"]
    assert "different request" in error["message"]
    assert len(_jobs(client)) == 1


def test_multipart_retries_with_another_boundary_are_the_same_request(make_client: Any) -> None:
    client = make_client(builtin_sources("image_info"), force_in_process=True)
    form = {"plugin": "image_info", "args": json.dumps({})}
    answers = [
        client.post(
            "/v1/jobs",
            data=form,
            files={"file": ("a.png", png_bytes((12, 34)), "image/png")},
            headers={"Idempotency-Key": "upload-1"},
        )
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [202, 200], answers[1].text
    assert answers[0].json()["id"] == answers[1].json()["id"]
    changed = client.post(
        "/v1/jobs",
        data=form,
        files={"file": ("a.png", png_bytes((13, 34)), "image/png")},
        headers={"Idempotency-Key": "upload-1"},
    )
    assert changed.status_code == 409


def test_keys_are_scoped_to_the_principal(make_client: Any) -> None:
    client = make_client(plugin_sources("echo"), auth="required")
    auth = client.app.state.auth
    one = auth.create_key(KeyCreate(name="one", scope=Scope.RUN)).secret
    two = auth.create_key(KeyCreate(name="two", scope=Scope.RUN)).secret
    body = {"plugin": "echo", "args": {"text": "mine"}}
    ids = []
    for secret in (one, two, one):
        answer = client.post(
            "/v1/jobs",
            json=body,
            headers={"Idempotency-Key": "shared", "Authorization": f"Bearer {secret}"},
        )
        assert answer.status_code in (200, 202), answer.text
        ids.append(answer.json()["id"])
    assert ids[0] != ids[1]  # another key's "shared" is another key
    assert ids[2] == ids[0]


def test_a_malformed_key_is_refused(make_client: Any) -> None:
    client = make_client(plugin_sources("echo"))
    for key in ("x" * 256, "tab\there"):
        answer = client.post("/v1/jobs", json={"plugin": "echo"}, headers={"Idempotency-Key": key})
        assert answer.status_code in (400, 422), answer.text
        assert answer.json()["error"]["details"]["code"] == "invalid_input"
    assert _jobs(client) == []


def test_the_key_expires_with_its_job(make_client: Any) -> None:
    client = make_client(plugin_sources("echo"), job_retention_s=0)
    body = {"plugin": "echo", "args": {"text": "old"}}
    first = client.post("/v1/jobs", json=body, headers={"Idempotency-Key": "daily"})
    job_id = first.json()["id"]
    for _ in range(200):  # bounded: the echo job finishes at once
        if client.get(f"/v1/jobs/{job_id}").json()["status"] == "SUCCESS":
            break
    assert client.app.state.job_service.purge_expired() == 1
    again = client.post("/v1/jobs", json=body, headers={"Idempotency-Key": "daily"})
    assert again.status_code == 202 and again.json()["id"] != job_id
