"""Job ownership: two run keys and an admin key, through REST, SSE and the service below.

A non-admin key sees, streams, fetches and cancels only its own jobs; another key's job
answers exactly like a job that does not exist. The admin sees every job.
"""

from __future__ import annotations

import time
from typing import Any

from auth_helpers import Keys, bearer
from fastapi.testclient import TestClient

from app.auth.principal import acting_as
from app.errors import VisorError
from app.jobs.models import JobQuery


def _submit(client: TestClient, key: str, **body: Any) -> str:
    response = client.post("/v1/jobs", json={"plugin": "echo", **body}, headers=bearer(key))
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


def _wait_done(client: TestClient, key: str, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}", headers=bearer(key)).json()
        if job["status"] in ("SUCCESS", "FAILED", "CANCELLED"):
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish")


def _not_found(response: Any, job_id: str) -> None:
    assert response.status_code == 404, response.text
    error = response.json()["error"]
    assert error["details"]["code"] == "job_not_found"
    assert error["message"] == f"job {job_id!r} does not exist"  # same as a missing job


def test_each_run_key_sees_only_its_jobs_and_admin_sees_all(
    secured: tuple[TestClient, Keys],
) -> None:
    client, keys = secured
    mine = _submit(client, keys.run, args={"text": "mine"})
    theirs = _submit(client, keys.run2, args={"text": "theirs"})
    assert _wait_done(client, keys.run, mine)["status"] == "SUCCESS"
    assert _wait_done(client, keys.run2, theirs)["status"] == "SUCCESS"

    listed = client.get("/v1/jobs", headers=bearer(keys.run)).json()["jobs"]
    assert [j["id"] for j in listed] == [mine]
    listed2 = client.get("/v1/jobs", headers=bearer(keys.run2)).json()["jobs"]
    assert [j["id"] for j in listed2] == [theirs]
    everything = client.get("/v1/jobs", headers=bearer(keys.admin)).json()["jobs"]
    assert {j["id"] for j in everything} == {mine, theirs}
    assert client.get("/v1/jobs", headers=bearer(keys.read)).json()["jobs"] == []

    for path in (f"/v1/jobs/{theirs}", f"/v1/jobs/{theirs}/result", f"/v1/jobs/{theirs}/events"):
        _not_found(client.get(path, headers=bearer(keys.run)), theirs)
    _not_found(client.delete(f"/v1/jobs/{theirs}", headers=bearer(keys.run)), theirs)
    _not_found(
        client.get("/v1/jobs/0123456789abcdef", headers=bearer(keys.run)), "0123456789abcdef"
    )

    result = client.get(f"/v1/jobs/{mine}/result", headers=bearer(keys.run)).json()
    assert result["result"]["text"] == "mine"
    for key in (keys.run2, keys.admin):
        assert client.get(f"/v1/jobs/{theirs}/result", headers=bearer(key)).status_code == 200
    assert client.get(f"/v1/jobs/{mine}", headers=bearer(keys.admin)).status_code == 200


def test_sse_streams_only_the_callers_jobs(secured: tuple[TestClient, Keys]) -> None:
    client, keys = secured
    job_id = _submit(client, keys.run, tool="sleep", args={"seconds": 0.2, "steps": 4})
    _not_found(client.get(f"/v1/jobs/{job_id}/events", headers=bearer(keys.run2)), job_id)
    for key in (keys.run, keys.admin):
        with client.stream("GET", f"/v1/jobs/{job_id}/events", headers=bearer(key)) as stream:
            assert stream.status_code == 200
            body = "".join(stream.iter_text())
        assert "event: status" in body and '"SUCCESS"' in body


def test_cancel_is_the_owners_or_the_admins(secured: tuple[TestClient, Keys]) -> None:
    client, keys = secured
    first = _submit(client, keys.run, tool="sleep", args={"seconds": 30, "steps": 1000})
    second = _submit(client, keys.run, tool="sleep", args={"seconds": 30, "steps": 1000})
    _not_found(client.delete(f"/v1/jobs/{first}", headers=bearer(keys.run2)), first)
    assert client.get(f"/v1/jobs/{first}", headers=bearer(keys.run)).json()["status"] != "CANCELLED"
    own = client.delete(f"/v1/jobs/{first}", headers=bearer(keys.run))
    assert own.status_code == 200 and own.json()["status"] == "CANCELLED"
    by_admin = client.delete(f"/v1/jobs/{second}", headers=bearer(keys.admin))
    assert by_admin.status_code == 200 and by_admin.json()["status"] == "CANCELLED"


def test_the_job_service_applies_ownership_for_any_door(secured: tuple[TestClient, Keys]) -> None:
    """MCP tools, pipelines and the CLI reach jobs through the service, which reads the
    caller from the context: the same rule holds without any HTTP route in between."""
    client, keys = secured
    auth = client.app.state.auth  # type: ignore[attr-defined]
    jobs = client.app.state.job_service  # type: ignore[attr-defined]
    theirs = _submit(client, keys.run2, args={"text": "x"})
    run = auth.index.authenticate(keys.run)
    run2 = auth.index.authenticate(keys.run2)
    with acting_as(run):
        try:
            jobs.get(theirs)
        except VisorError as exc:
            assert exc.code.value == "job_not_found"
        else:
            raise AssertionError("another key's job was visible")
        assert jobs.list_jobs(JobQuery()).jobs == []
    with acting_as(run2):
        assert jobs.get(theirs).id == theirs
        assert [j.id for j in jobs.list_jobs(JobQuery()).jobs] == [theirs]
    assert jobs.get(theirs).id == theirs  # the server itself (no caller) sees every job
