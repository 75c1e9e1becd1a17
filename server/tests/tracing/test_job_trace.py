"""A job's trace: submitted through one server, claimed and run by another that shares
the database; the context stored with the job joins the two halves into one trace."""

from __future__ import annotations

from typing import Any

from helpers import plugin_sources
from span_tree import Spans
from waiting import wait_until


def test_a_job_claimed_by_a_second_server_continues_the_submitters_trace(
    spans: Spans, make_client: Any
) -> None:
    first = make_client(plugin_sources("echo"))
    first.app.state.job_service.stop()  # this server accepts jobs but runs none
    submitted = first.post("/v1/jobs", json={"plugin": "echo", "args": {"text": "hi"}})
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]

    second = make_client(plugin_sources("echo"))  # same database: claims the job
    job = wait_until(
        lambda: (
            (j := second.get(f"/v1/jobs/{job_id}").json())["status"] in ("SUCCESS", "FAILED") and j
        ),
        "the second server to run the job",
    )
    assert job["status"] == "SUCCESS", job
    second_worker = second.app.state.job_service.dispatcher.worker_id
    assert second_worker != first.app.state.job_service.dispatcher.worker_id

    submit = spans.one("visor.job.submit", **{"visor.job.id": job_id})
    assert spans.path(submit) == ["POST /v1/jobs", "visor.job.submit"]
    dispatch = spans.one("visor.job.dispatch", **{"visor.job.id": job_id})
    # On the server that claimed it, in the submitter's trace, under the submit.
    assert dispatch.attributes["visor.worker.id"] == second_worker
    assert dispatch.context.trace_id == submit.context.trace_id
    assert spans.parent_of(dispatch) is submit or (
        dispatch.parent is not None and dispatch.parent.span_id == submit.context.span_id
    )
    run = spans.child(dispatch, "visor.job.run")
    call = spans.child(run, "visor.call")
    assert call.attributes["visor.plugin"] == "echo"
    assert call.attributes["visor.outcome"] == "SUCCESS"
    assert spans.child(spans.child(call, "visor.execute"), "visor.tool_run")
