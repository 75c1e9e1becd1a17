"""The job lifecycle through HTTP with the real store, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import b64, builtin_sources, plugin_sources, png_bytes
from job_plugins import RUNS, expect
from jobs_helpers import parse_sse, wait_for_status

from app.plugins.loader.plugin_registry import PluginRegistry
from app.plugins.runtime.tool_runner import ToolRunner
from app.settings import Settings

JOB_KEYS = {
    "id", "plugin", "tool", "status", "attempts", "max_attempts", "progress",
    "progress_message", "created_at", "started_at", "finished_at", "updated_at",
    "result", "error", "input_mime_type",
}  # fmt: skip


def _submit(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/jobs", json=body)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    return job


def _assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["details"]["code"] == code
    assert "_internal" not in response.text and "Traceback" not in response.text
    error: dict[str, Any] = body["error"]
    return error


def test_submit_run_and_fetch_the_result(job_client: TestClient) -> None:
    job = _submit(job_client, plugin="echo", args={"text": "hello"}, max_attempts=2)
    assert set(job) == JOB_KEYS
    assert job["status"] == "PENDING" and job["attempts"] == 0 and job["max_attempts"] == 2
    assert job["tool"] == "echo"  # the default tool, resolved at submit

    done = wait_for_status(job_client, job["id"], "SUCCESS")
    assert done["attempts"] == 1 and done["progress"] == 1.0
    assert done["result"]["text"] == "hello" and done["error"] is None
    assert done["created_at"] <= done["started_at"] <= done["finished_at"] <= done["updated_at"]

    result = job_client.get(f"/v1/jobs/{job['id']}/result")
    assert result.status_code == 200
    body = result.json()
    assert body["result"]["text"] == "hello"
    assert (body["plugin"], body["tool"]) == ("echo", "echo")
    assert body["elapsed_ms"] >= 0


def test_image_input_reaches_the_tool_and_never_the_job_json(make_client: Any) -> None:
    client = make_client(builtin_sources("image_info"), force_in_process=True)
    image = png_bytes((40, 30))
    job = _submit(client, plugin="image_info", image=b64(image))
    assert b64(image) not in json.dumps(job)
    done = wait_for_status(client, job["id"], "SUCCESS", "FAILED")
    assert done["status"] == "SUCCESS", done["error"]
    assert b64(image) not in json.dumps(done)
    assert (done["result"]["width"], done["result"]["height"]) == (40, 30)


def test_multipart_submit(make_client: Any, database_url: str | None) -> None:
    client = make_client(
        builtin_sources("image_info"), database_url=database_url, force_in_process=True
    )
    response = client.post(
        "/v1/jobs",
        data={"plugin": "image_info", "args": json.dumps({}), "max_attempts": "1"},
        files={"file": ("x.png", png_bytes((12, 34)), "image/png")},
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    assert job["max_attempts"] == 1
    done = wait_for_status(client, job["id"], "SUCCESS", "FAILED")
    assert done["status"] == "SUCCESS", done["error"]
    assert (done["result"]["width"], done["result"]["height"]) == (12, 34)


def test_multipart_needs_plugin_and_file(job_client: TestClient) -> None:
    # Without a file part it is judged like JSON with the same args (one answer per input):
    # echo takes no image, so the job is accepted.
    no_file = job_client.post("/v1/jobs", data={"plugin": "echo"}, files={"x": ("a", b"1")})
    assert no_file.status_code == 202, no_file.text
    no_plugin = job_client.post("/v1/jobs", files={"file": ("a.png", png_bytes())})
    _assert_error(no_plugin, 400, "invalid_input")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"plugin": "nope"}, 404, "plugin_not_found"),
        ({"plugin": "echo", "tool": "nope"}, 404, "tool_not_found"),
        ({"plugin": "echo", "image": "@@not base64@@"}, 400, "invalid_input"),
        ({"plugin": "echo", "max_attempts": 0}, 400, "invalid_input"),
        ({"plugin": "echo", "surprise": 1}, 400, "invalid_input"),
    ],
)
def test_jobs_that_can_never_run_are_refused(
    job_client: TestClient, body: dict[str, Any], status: int, code: str
) -> None:
    _assert_error(job_client.post("/v1/jobs", json=body), status, code)
    assert job_client.get("/v1/jobs").json()["jobs"] == []


def test_failed_job_carries_the_envelope_and_its_http_status(job_client: TestClient) -> None:
    job = _submit(job_client, plugin="echo", args={"text": 7})
    done = wait_for_status(job_client, job["id"], "FAILED")
    assert done["error"]["type"] == "ValidationError"
    assert done["error"]["details"]["code"] == "invalid_input"
    assert done["result"] is None
    error = _assert_error(job_client.get(f"/v1/jobs/{job['id']}/result"), 400, "invalid_input")
    assert error == done["error"]


def test_unknown_job_is_404_everywhere(job_client: TestClient) -> None:
    missing = uuid.uuid4().hex
    for method, path in [
        ("GET", f"/v1/jobs/{missing}"),
        ("GET", f"/v1/jobs/{missing}/result"),
        ("DELETE", f"/v1/jobs/{missing}"),
        ("GET", f"/v1/jobs/{missing}/events"),
    ]:
        _assert_error(job_client.request(method, path), 404, "job_not_found")


def test_result_is_409_until_finished_and_cancel_of_pending_and_running(
    make_client: Any, database_url: str | None
) -> None:
    from job_plugins import SOURCES

    client = make_client(
        [*plugin_sources("echo"), *SOURCES],
        database_url=database_url,
        job_concurrency=1,
        job_shutdown_grace_s=0.5,
    )
    token = uuid.uuid4().hex
    started, stopped = expect(token)
    running = _submit(client, plugin="jobtest", tool="spin", args={"token": token})
    assert started.wait(10), "the spin tool never started"
    queued = _submit(client, plugin="echo", args={"text": "never"})  # the only slot is busy

    assert client.get(f"/v1/jobs/{running['id']}").json()["status"] == "RUNNING"
    error = _assert_error(client.get(f"/v1/jobs/{running['id']}/result"), 409, "job_not_finished")
    assert error["details"]["status"] == "RUNNING"
    _assert_error(client.get(f"/v1/jobs/{queued['id']}/result"), 409, "job_not_finished")

    cancelled = client.delete(f"/v1/jobs/{queued['id']}")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "CANCELLED"
    assert cancelled.json()["error"]["details"]["code"] == "cancelled"

    cancelled = client.delete(f"/v1/jobs/{running['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    assert stopped.wait(10), "the running tool was left running after cancel"

    # The slot is free again, and the cancelled PENDING job never ran.
    after = _submit(client, plugin="echo", args={"text": "next"})
    assert wait_for_status(client, after["id"], "SUCCESS")["result"]["text"] == "next"
    assert client.get(f"/v1/jobs/{queued['id']}").json()["attempts"] == 0
    final = client.get(f"/v1/jobs/{running['id']}").json()
    assert final["status"] == "CANCELLED" and final["result"] is None

    _assert_error(client.get(f"/v1/jobs/{running['id']}/result"), 409, "cancelled")
    conflict = _assert_error(client.delete(f"/v1/jobs/{running['id']}"), 409, "job_finished")
    assert conflict["details"]["status"] == "CANCELLED"
    _assert_error(client.delete(f"/v1/jobs/{after['id']}"), 409, "job_finished")


def test_event_stream_shows_progress_and_the_final_status(job_client: TestClient) -> None:
    job = _submit(job_client, plugin="echo", tool="sleep", args={"seconds": 0.3, "steps": 6})
    with job_client.stream("GET", f"/v1/jobs/{job['id']}/events") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(list(stream.iter_lines()))  # ends after the final status
    names = [name for name, _ in events]
    jobs = [json.loads(data) for _, data in events]
    assert names[0] == "status" and names[-1] == "status"
    assert jobs[-1]["status"] == "SUCCESS" and jobs[-1]["result"] == {"slept": True}
    progress = [j for name, j in zip(names, jobs, strict=True) if name == "progress"]
    assert progress, names
    assert all(j["status"] == "RUNNING" for j in progress)
    fractions = [j["progress"] for j in progress]
    assert fractions == sorted(fractions) and 0 < fractions[0] <= 1
    assert all(j["progress_message"].startswith("step ") for j in progress)
    assert set(jobs[0]) == JOB_KEYS


def test_event_stream_of_a_finished_job_is_one_status_event(job_client: TestClient) -> None:
    job = _submit(job_client, plugin="echo", args={"text": "x"})
    wait_for_status(job_client, job["id"], "SUCCESS")
    with job_client.stream("GET", f"/v1/jobs/{job['id']}/events") as stream:
        events = parse_sse(list(stream.iter_lines()))
    assert [name for name, _ in events] == ["status"]
    assert json.loads(events[0][1])["status"] == "SUCCESS"


def test_event_stream_ends_with_cancelled(job_client: TestClient) -> None:
    token = uuid.uuid4().hex
    started, stopped = expect(token)
    job = _submit(job_client, plugin="jobtest", tool="spin", args={"token": token})
    assert started.wait(10)
    with job_client.stream("GET", f"/v1/jobs/{job['id']}/events") as stream:
        lines = stream.iter_lines()
        first = next(line for line in lines if line.startswith("data:"))
        assert json.loads(first[5:])["status"] == "RUNNING"
        assert job_client.delete(f"/v1/jobs/{job['id']}").status_code == 200
        events = parse_sse(list(lines))
    assert json.loads(events[-1][1])["status"] == "CANCELLED"
    assert stopped.wait(10)


def test_list_filters_and_cursor_paging(job_client: TestClient) -> None:
    ids = [_submit(job_client, plugin="echo", args={"text": str(i)})["id"] for i in range(5)]
    token = uuid.uuid4().hex
    counted = _submit(job_client, plugin="jobtest", tool="count", args={"token": token})
    bad = _submit(job_client, plugin="echo", args={"text": 1})
    for job_id in [*ids, counted["id"]]:
        wait_for_status(job_client, job_id, "SUCCESS")
    wait_for_status(job_client, bad["id"], "FAILED")

    everything = job_client.get("/v1/jobs").json()
    assert [j["id"] for j in everything["jobs"]] == [bad["id"], counted["id"], *ids[::-1]]
    assert everything["next_cursor"] is None

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = job_client.get("/v1/jobs", params=params).json()
        assert len(page["jobs"]) <= 2
        seen += [j["id"] for j in page["jobs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [j["id"] for j in everything["jobs"]]

    def listed(**params: Any) -> list[str]:
        response = job_client.get("/v1/jobs", params=params)
        assert response.status_code == 200, response.text
        return [j["id"] for j in response.json()["jobs"]]

    assert listed(status="FAILED") == [bad["id"]]
    assert listed(plugin="jobtest") == [counted["id"]]
    assert listed(tool="count") == [counted["id"]]
    assert listed(plugin="echo", status="SUCCESS") == ids[::-1]
    middle = job_client.get(f"/v1/jobs/{ids[2]}").json()["created_at"]
    assert listed(created_after=middle, plugin="echo", status="SUCCESS") == ids[3:][::-1]
    assert listed(created_before=middle) == ids[:2][::-1]
    _assert_error(job_client.get("/v1/jobs", params={"status": "BOGUS"}), 400, "invalid_input")
    _assert_error(job_client.get("/v1/jobs", params={"cursor": "%%%"}), 400, "invalid_input")
    _assert_error(job_client.get("/v1/jobs", params={"limit": 0}), 400, "invalid_input")


def test_patched_tool_runner_reaches_jobs(
    job_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, dict[str, Any], str | None]] = []

    def fake(
        self: ToolRunner, plugin_name: str, payload: dict[str, Any], tool: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        calls.append((plugin_name, payload, tool))
        return {"faked": True}, {}

    monkeypatch.setattr(ToolRunner, "run", fake)
    job = _submit(job_client, plugin="echo", args={"text": "via fake"})
    done = wait_for_status(job_client, job["id"], "SUCCESS")
    assert done["result"] == {"faked": True}
    assert calls == [("echo", {"text": "via fake"}, "echo")]


def test_counts_on_a_single_run(job_client: TestClient) -> None:
    token = uuid.uuid4().hex
    job = _submit(job_client, plugin="jobtest", tool="count", args={"token": token})
    wait_for_status(job_client, job["id"], "SUCCESS")
    assert RUNS[token] == 1


def test_readiness_includes_the_job_store(job_client: TestClient) -> None:
    ready = job_client.get("/v1/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_openapi_documents_the_job_routes(job_client: TestClient) -> None:
    paths = job_client.get("/openapi.json").json()["paths"]
    for path in ("/v1/jobs", "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/result",
                 "/v1/jobs/{job_id}/events"):  # fmt: skip
        assert path in paths
    assert set(paths["/v1/jobs"]) == {"get", "post"}
    assert "delete" in paths["/v1/jobs/{job_id}"]


def test_finished_jobs_are_purged_after_the_retention_period(
    make_client: Any, database_url: str | None
) -> None:
    client = make_client(plugin_sources("echo"), database_url=database_url, job_retention_s=0)
    done = _submit(client, plugin="echo", args={"text": "old"})
    wait_for_status(client, done["id"], "SUCCESS")
    service = client.app.state.job_service
    assert service.purge_expired() == 1
    _assert_error(client.get(f"/v1/jobs/{done['id']}"), 404, "job_not_found")
    assert service.purge_expired() == 0


def test_cancel_through_another_server_stops_the_tool(
    make_client: Any, database_url: str | None
) -> None:
    """Two servers on one store: the one that did not claim the job cancels it; the owner
    notices at its next heartbeat and stops the tool."""
    from job_plugins import SOURCES

    settings = {"database_url": database_url, "job_heartbeat_s": 0.05}
    servers = [make_client(SOURCES, **settings) for _ in range(2)]
    token = uuid.uuid4().hex
    started, stopped = expect(token)
    job = _submit(servers[0], plugin="jobtest", tool="spin", args={"token": token})
    assert started.wait(10)
    owner_is_first = job["id"] in servers[0].app.state.job_service.dispatcher.running()
    other = servers[1] if owner_is_first else servers[0]
    response = other.delete(f"/v1/jobs/{job['id']}")
    assert response.status_code == 200 and response.json()["status"] == "CANCELLED"
    assert stopped.wait(10), "the owning server did not stop the tool"


def test_graceful_shutdown_requeues_a_running_job_for_the_next_start(
    make_client: Any, settings: Settings, database_url: str | None
) -> None:
    from app.main import create_app

    overrides = {"database_url": database_url, "job_shutdown_grace_s": 0.05}
    first = TestClient(
        create_app(
            settings.model_copy(update=overrides),
            registry=PluginRegistry(),
            plugin_sources=plugin_sources("echo"),
        )
    )
    with first:
        job = _submit(first, plugin="echo", tool="sleep", args={"seconds": 1.0, "steps": 50})
        wait_for_status(first, job["id"], "RUNNING")
    # The shutdown interrupted it: back to PENDING, one attempt used, waiting for a server.
    second = make_client(plugin_sources("echo"), **overrides)
    done = wait_for_status(second, job["id"], "SUCCESS")
    assert done["attempts"] == 2 and done["result"] == {"slept": True}


@pytest.mark.postgres
def test_readiness_fails_while_the_job_store_is_unreachable(
    make_client: Any, postgres_url: str, postgres_admin: str
) -> None:
    """A real outage: PostgreSQL refuses connections to the store's database."""
    import psycopg
    from sqlalchemy.engine import make_url

    client = make_client(plugin_sources("echo"), database_url=postgres_url)
    assert client.get("/v1/ready").status_code == 200
    name = make_url(postgres_url).database
    with psycopg.connect(postgres_admin, autocommit=True) as db:
        db.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            db.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            ready = client.get("/v1/ready")
            assert ready.status_code == 503
            assert ready.json()["status"] == "job store unreachable"
        finally:
            db.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    assert client.get("/v1/ready").status_code == 200


def test_a_list_without_results_is_light_and_otherwise_the_same(
    make_client: Any, database_url: str | None
) -> None:
    client = make_client(
        builtin_sources("image_info"), database_url=database_url, force_in_process=True
    )
    job = _submit(client, plugin="image_info", image=b64(png_bytes((40, 30))))
    wait_for_status(client, job["id"], "SUCCESS")
    full = client.get("/v1/jobs").json()["jobs"]
    light = client.get("/v1/jobs?results=false").json()["jobs"]
    assert full[0]["result"]["width"] == 40 and light[0]["result"] is None
    assert [{**j, "result": None} for j in full] == light
