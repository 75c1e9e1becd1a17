"""The span tree of a REST call: door → auth → call → inputs/validation/execute → the
tool's run inside its worker process, and W3C traceparent in and out."""

from __future__ import annotations

from typing import Any

from helpers import b64, builtin_sources, plugin_sources, png_bytes
from span_tree import Spans

from app.auth.keys import KeyCreate
from app.auth.scopes import Scope

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"


def test_rest_call_span_tree_crosses_into_the_worker_process(
    spans: Spans, make_client: Any
) -> None:
    client = make_client(builtin_sources("image_info"))  # a real worker process
    response = client.post(
        "/v1/analyze",
        json={"plugin": "image_info", "image": b64(png_bytes())},
        headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"},
    )
    assert response.status_code == 200, response.text

    door = spans.one("POST /v1/analyze")
    # The caller's trace continues here, and the response names the door's own span.
    assert f"{door.context.trace_id:032x}" == CALLER_TRACE
    assert door.parent is not None and f"{door.parent.span_id:016x}" == CALLER_SPAN
    assert response.headers["traceparent"] == (
        f"00-{CALLER_TRACE}-{door.context.span_id:016x}-{int(door.context.trace_flags):02x}"
    )
    assert door.attributes["http.response.status_code"] == 200
    assert door.attributes["visor.request_id"] == response.headers["x-request-id"]

    call = spans.one("visor.call", **{"visor.plugin": "image_info"})
    assert spans.path(call) == ["POST /v1/analyze", "visor.call"]
    assert call.attributes["visor.tool"] == "describe"
    assert call.attributes["visor.outcome"] == "SUCCESS"
    steps = [s.name for s in sorted(spans.children(call), key=lambda s: s.start_time or 0)]
    assert steps == [
        "visor.inputs",
        "visor.validate_input",
        "visor.execute",
        "visor.validate_output",
    ]

    run = spans.child(spans.child(call, "visor.execute"), "visor.tool_run")
    # Recorded in the worker process, exported by the server.
    assert run.attributes["process.pid"] != 0
    assert run.attributes["visor.tool"] == "describe"
    assert all(s.context.trace_id == door.context.trace_id for s in spans.all())


def test_a_failed_call_marks_its_spans_as_errors(spans: Spans, make_client: Any) -> None:
    client = make_client(builtin_sources("image_info"))
    response = client.post("/v1/analyze", json={"plugin": "image_info", "image": "not base64!"})
    assert response.status_code == 400
    call = spans.one("visor.call")
    assert call.attributes["visor.error.code"] == "invalid_input"
    assert call.status.status_code.name == "ERROR"
    # No traceparent from the caller: the door starts a trace of its own and returns it.
    door = spans.one("POST /v1/analyze")
    assert door.parent is None
    assert response.headers["traceparent"].split("-")[1] == f"{door.context.trace_id:032x}"


def test_an_authenticated_call_has_an_auth_span_naming_the_key(
    spans: Spans, make_client: Any
) -> None:
    client = make_client(plugin_sources("echo"))
    created = client.app.state.auth.create_key(KeyCreate(name="traced", scope=Scope.RUN))
    response = client.post(
        "/v1/analyze",
        json={"plugin": "echo", "args": {"text": "hi"}},
        headers={"Authorization": f"Bearer {created.secret}"},
    )
    assert response.status_code == 200, response.text
    auth = spans.one("visor.auth")
    assert spans.path(auth) == ["POST /v1/analyze", "visor.auth"]
    assert auth.attributes["visor.key_id"] == created.key.id
    assert all(created.secret not in str(s.attributes) for s in spans.all())
    call = spans.one("visor.call")
    assert spans.path(call) == ["POST /v1/analyze", "visor.call"]


def test_a_tool_failing_in_its_worker_marks_the_run_span(spans: Spans, make_client: Any) -> None:
    client = make_client(builtin_sources("image_info"))
    garbage = b64(png_bytes()[:60])  # a PNG header, then nothing: the worker fails it
    response = client.post("/v1/analyze", json={"plugin": "image_info", "image": garbage})
    assert response.status_code == 400, response.text
    call = spans.one("visor.call")
    run = spans.child(spans.child(call, "visor.execute"), "visor.tool_run")
    assert run.status.status_code.name == "ERROR"
    assert run.attributes["visor.error.code"] == call.attributes["visor.error.code"]
