"""Long-lived connections answer to their credential while they last (app.auth.lease): a
job's event stream ends with an ``error`` event once its key is revoked or expires."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from auth_helpers import Keys, bearer
from fastapi.testclient import TestClient
from jobs.jobs_helpers import parse_sse
from sqlalchemy import update

from app.auth.tables import api_keys

pytestmark = pytest.mark.timeout(30)  # before the fix these streams never ended


def _follow_until_it_ends(client: TestClient, job_id: str, key: str, lose: Any) -> list[Any]:
    """Open the job's event stream, lose the credential after the first event, and read
    the stream to its end."""
    events: list[tuple[str, str]] = []
    with client.stream("GET", f"/v1/jobs/{job_id}/events", headers=bearer(key)) as stream:
        assert stream.status_code == 200
        lines: list[str] = []
        for line in stream.iter_lines():
            lines.append(line)
            if line == "" and not events:
                events = parse_sse(lines)
                lose()
        events = parse_sse(lines)
    return events


def _slow_job(client: TestClient, keys: Keys) -> str:
    body = {"plugin": "echo", "tool": "sleep", "args": {"seconds": 60, "steps": 300}}
    response = client.post("/v1/jobs", json=body, headers=bearer(keys.run))
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


@pytest.mark.parametrize("how", ["revoked", "expired"])
def test_a_job_event_stream_ends_when_its_key_stops_authenticating(
    secured: tuple[TestClient, Keys], how: str
) -> None:
    client, keys = secured
    auth = client.app.state.auth  # type: ignore[attr-defined]
    job_id = _slow_job(client, keys)

    def lose() -> None:
        if how == "revoked":
            auth.revoke_key("run")
            return
        with auth.index.store.engine.begin() as conn:
            conn.execute(
                update(api_keys)
                .where(api_keys.c.id == keys.ids["run"])
                .values(expires_us=int((time.time() - 1) * 1e6))
            )
        auth.index.reload()

    try:
        events = _follow_until_it_ends(client, job_id, keys.run, lose)
    finally:
        client.delete(f"/v1/jobs/{job_id}", headers=bearer(keys.admin))
    name, data = events[-1]
    assert name == "error", events
    error = json.loads(data)["error"]
    assert error["details"]["code"] == "unauthorized"
    lost = "was revoked" if how == "revoked" else "has expired"
    assert error["message"] == f"this API key {lost}"
    assert all(json.loads(d)["status"] != "SUCCESS" for _, d in events[:-1])
