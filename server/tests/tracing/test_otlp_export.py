"""VISOR_TRACING=otlp end to end: the SDK's OTLP/HTTP exporter, configured by the standard
OTEL_* variables, delivers a call's spans (the worker's included) to a real receiver."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import b64, builtin_sources, png_bytes
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from waiting import wait_until

from app.tracing import setup


class _Receiver(http.server.ThreadingHTTPServer):
    """A minimal OTLP/HTTP trace receiver: POST /v1/traces, protobuf bodies."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def spans(self) -> list[tuple[str, Any, Any]]:
        """``(service name, scope name, span)`` for every span received."""
        found = []
        for request in self.requests:
            for resource_spans in request.resource_spans:
                service = next(
                    a.value.string_value
                    for a in resource_spans.resource.attributes
                    if a.key == "service.name"
                )
                for scope_spans in resource_spans.scope_spans:
                    found += [(service, scope_spans.scope.name, s) for s in scope_spans.spans]
        return found


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        self.server.paths.append(self.path)
        self.server.requests.append(request)
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_spans_reach_a_real_otlp_receiver(
    receiver: _Receiver, make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "visor-under-test")
    try:
        client = make_client(builtin_sources("image_info"), tracing="otlp")
        response = client.post(
            "/v1/analyze", json={"plugin": "image_info", "image": b64(png_bytes())}
        )
        assert response.status_code == 200, response.text
        tracing = setup.installed()
        assert tracing is not None
        tracing.force_flush()
        names = wait_until(
            lambda: (
                {s.name for _, _, s in receiver.spans()} >= {"visor.call", "visor.tool_run"}
                and {s.name for _, _, s in receiver.spans()}
            ),
            "the spans at the receiver",
        )
    finally:
        setup.uninstall()
    assert "POST /v1/analyze" in names
    assert set(receiver.paths) == {"/v1/traces"}
    spans = receiver.spans()
    assert {service for service, _, _ in spans} == {"visor-under-test"}
    trace_ids = {s.trace_id for _, _, s in spans}
    assert len(trace_ids) == 1  # one call, one trace, across the process boundary
    assert response.headers["traceparent"].split("-")[1] == trace_ids.pop().hex()
    run = next(s for _, scope, s in spans if s.name == "visor.tool_run")
    execute = next(s for _, _, s in spans if s.name == "visor.execute")
    assert run.parent_span_id == execute.span_id
