"""Quotas: a key's request rate and concurrent tool calls; failed authentication slowed down.

Over the limit is a 429 ``rate_limited`` envelope with ``Retry-After``, and a refused
request did nothing: no job stored, no tool run — while every accepted one runs once.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
import quota_plugin
from auth_helpers import bearer
from fastapi.testclient import TestClient

from app.auth.keys import KeyCreate
from app.auth.scopes import Scope


@pytest.fixture
def client(make_client: Any) -> TestClient:
    built: TestClient = make_client(
        quota_plugin.SOURCES, auth_failures_burst=3, force_in_process=True
    )
    return built


def _key(client: TestClient, name: str, scope: Scope = Scope.RUN, **quotas: Any) -> str:
    auth = client.app.state.auth  # type: ignore[attr-defined]
    secret: str = auth.create_key(KeyCreate(name=name, scope=scope, **quotas)).secret
    return secret


def _analyze(client: TestClient, key: str, token: str) -> Any:
    body = {"plugin": "quota", "args": {"token": token}}
    return client.post("/v1/analyze", json=body, headers=bearer(key))


def _assert_rate_limited(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    error = response.json()["error"]
    assert error["details"]["code"] == "rate_limited" and error["type"] == "ValidationError"


def test_a_burst_over_the_rate_is_refused_and_nothing_is_lost_or_run_twice(
    client: TestClient,
) -> None:
    key = _key(client, "bursty", burst=5, rate_per_s=0.01)
    admin = _key(client, "admin", Scope.ADMIN, burst=1000, rate_per_s=1000)
    tokens = [uuid.uuid4().hex for _ in range(8)]
    responses: dict[str, Any] = {}

    def submit(token: str) -> None:
        responses[token] = client.post(
            "/v1/jobs", json={"plugin": "quota", "args": {"token": token}}, headers=bearer(key)
        )

    threads = [threading.Thread(target=submit, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    accepted = [t for t in tokens if responses[t].status_code == 202]
    refused = [t for t in tokens if t not in accepted]
    assert len(accepted) == 5 and len(refused) == 3
    for token in refused:
        _assert_rate_limited(responses[token])

    job_ids = {responses[t].json()["id"] for t in accepted}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        jobs = client.get("/v1/jobs", headers=bearer(admin)).json()["jobs"]
        if all(j["status"] == "SUCCESS" for j in jobs) and len(jobs) == 5:
            break
        time.sleep(0.02)
    assert {j["id"] for j in jobs} == job_ids and all(j["status"] == "SUCCESS" for j in jobs)
    assert [quota_plugin.RUNS[t] for t in accepted] == [1] * 5
    assert [quota_plugin.RUNS[t] for t in refused] == [0] * 3
    # Still limited: the bucket refills at 0.01/s.
    _assert_rate_limited(client.get("/v1/plugins", headers=bearer(key)))


def test_concurrent_tool_calls_over_the_keys_limit_are_refused(client: TestClient) -> None:
    key = _key(client, "single", max_concurrent=1)
    held, second = uuid.uuid4().hex, uuid.uuid4().hex
    quota_plugin.HELD[held] = threading.Event()
    quota_plugin.ENTERED[held] = threading.Event()
    results: list[Any] = []

    def hold() -> None:
        results.append(
            client.post(
                "/v1/plugins/quota/tools/hold/run", json={"token": held}, headers=bearer(key)
            )
        )

    first = threading.Thread(target=hold)
    first.start()
    try:
        assert quota_plugin.ENTERED[held].wait(20)
        refused = _analyze(client, key, second)
        _assert_rate_limited(refused)
        assert refused.json()["error"]["details"]["limit"] == 1
        other = _key(client, "other")  # another key has its own limit
        served = _analyze(client, other, second)
        assert served.status_code == 200, served.text
    finally:
        quota_plugin.HELD[held].set()
        first.join()
    assert results[0].status_code == 200
    assert quota_plugin.RUNS[held] == 1 and quota_plugin.RUNS[second] == 1
    again = _analyze(client, key, second)
    assert again.status_code == 200  # the slot was given back


def test_repeated_failed_authentication_is_slowed_down(client: TestClient) -> None:
    good = _key(client, "good", Scope.READ)
    wrong = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    for _ in range(3):
        assert client.get("/v1/plugins", headers=bearer(wrong)).status_code == 401
    _assert_rate_limited(client.get("/v1/plugins", headers=bearer(wrong)))
    # The address is slowed down, whatever it presents, until it regains attempts.
    _assert_rate_limited(client.get("/v1/plugins", headers=bearer(good)))
    # A request without any key is not a failed attempt; public routes stay open.
    assert client.get("/v1/health").status_code == 200
