"""Spans across the process boundary: recorded in a worker process or Ray actor, exported
by the server.

The server puts the calling span's ``traceparent`` in the call frame. The worker runs the
tool inside a ``visor.tool.run`` span that is a child of it, with a private SDK provider
that only collects (so a plugin's own spans, and libraries it instruments, nest under the
tool's run); after the call it sends the finished spans back as plain JSON data and the
server hands them to its exporters (:meth:`app.tracing.setup.Tracing.export`). Workers
therefore need no exporter configuration of their own, on this machine or a Ray node.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from app.tracing import setup

#: Sent back per call at most (a plugin that opens spans in a loop must not flood the pipe).
MAX_SPANS = 256


class WorkerTracer:
    """The worker's side: record the tool's run (and the plugin's spans) under a remote
    parent. Built on first traced call; without the SDK installed it records nothing."""

    def __init__(self) -> None:
        self._tracer: Any = None
        self._exporter: Any = None
        self._unavailable = False

    @contextlib.contextmanager
    def run(self, parent: str, name: str, attributes: dict[str, Any]) -> Iterator[list[Any]]:
        """Run the block in span ``name`` under ``parent``; the yielded list holds the
        block's finished spans, as plain data, once it ends."""
        collected: list[Any] = []
        if not self._ready():
            yield collected
            return
        from opentelemetry import context as otel_context
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        remote = TraceContextTextMapPropagator().extract({"traceparent": parent})
        token = otel_context.attach(remote)
        try:
            with self._tracer.start_as_current_span(name, attributes=attributes):
                yield collected
        finally:
            otel_context.detach(token)
            finished = self._exporter.get_finished_spans()
            self._exporter.clear()
            collected.extend(encode(s) for s in finished[-MAX_SPANS:])

    def _ready(self) -> bool:
        if self._tracer is not None:
            return True
        if self._unavailable:
            return False
        try:
            from opentelemetry import trace
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import SimpleSpanProcessor
            from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
                InMemorySpanExporter,
            )
        except ImportError:
            self._unavailable = True
            return False
        provider = TracerProvider()
        self._exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(self._exporter))
        with contextlib.suppress(Exception):  # a plugin's own spans land here too
            trace.set_tracer_provider(provider)
        self._tracer = provider.get_tracer(setup.SCOPE + ".worker")
        return True


def mark_failed(code: str) -> None:
    """The current span (the tool's run) ended in a failure with this error code."""
    from opentelemetry import trace
    from opentelemetry.trace import StatusCode

    current = trace.get_current_span()
    current.set_attribute("visor.error.code", code)
    current.set_status(StatusCode.ERROR, code)


def encode(span: Any) -> dict[str, Any]:
    """A finished SDK span as JSON-able data."""
    ctx = span.context
    parent = span.parent
    return {
        "name": span.name,
        "trace_id": f"{ctx.trace_id:032x}",
        "span_id": f"{ctx.span_id:016x}",
        "parent_id": f"{parent.span_id:016x}" if parent is not None else None,
        "start": span.start_time,
        "end": span.end_time,
        "kind": span.kind.value,
        "status": [span.status.status_code.value, span.status.description],
        "attributes": _plain(span.attributes),
        "events": [
            {"name": e.name, "time": e.timestamp, "attributes": _plain(e.attributes)}
            for e in span.events
        ],
        "scope": span.instrumentation_scope.name if span.instrumentation_scope else None,
        "pid": os.getpid(),
    }


def export(data: Any) -> int:
    """Hand spans a worker sent to the server's exporters; returns how many were valid.
    Malformed entries are dropped: a worker must not be able to break the server."""
    tracing = setup.installed()
    if tracing is None or not isinstance(data, list):
        return 0
    exported = 0
    for item in data[:MAX_SPANS]:
        try:
            span = _decode(item, tracing.provider.resource)
        except (KeyError, TypeError, ValueError):
            continue
        tracing.export(span)
        exported += 1
    return exported


def _decode(item: dict[str, Any], resource: Any) -> Any:
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    trace_id = int(item["trace_id"], 16)
    sampled = TraceFlags(TraceFlags.SAMPLED)
    context = SpanContext(trace_id, int(item["span_id"], 16), is_remote=False, trace_flags=sampled)
    parent_id = item.get("parent_id")
    parent = (
        SpanContext(trace_id, int(parent_id, 16), is_remote=True, trace_flags=sampled)
        if parent_id
        else None
    )
    code, description = item.get("status") or (0, None)
    attributes = dict(_plain(item.get("attributes")))
    attributes.setdefault("process.pid", int(item.get("pid") or 0))
    return ReadableSpan(
        name=str(item["name"]),
        context=context,
        parent=parent,
        resource=resource,
        attributes=attributes,
        events=[
            Event(str(e["name"]), _plain(e.get("attributes")), int(e["time"]))
            for e in item.get("events") or []
        ],
        kind=SpanKind(int(item.get("kind") or 0)),
        status=Status(StatusCode(int(code)), description),
        start_time=int(item["start"]),
        end_time=int(item["end"]),
        instrumentation_scope=InstrumentationScope(str(item.get("scope") or setup.SCOPE)),
    )


def _plain(attributes: Any) -> dict[str, Any]:
    """Attribute values OpenTelemetry accepts and JSON carries: scalars, lists of them."""
    out: dict[str, Any] = {}
    for key, value in dict(attributes or {}).items():
        if isinstance(value, str | bool | int | float):
            out[str(key)] = value
        elif isinstance(value, list | tuple) and all(
            isinstance(v, str | bool | int | float) for v in value
        ):
            out[str(key)] = list(value)
    return out
