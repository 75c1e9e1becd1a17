"""The span API the rest of Visor calls; every function is a no-op while tracing is off.

Tracing is process-wide, like logging and like OpenTelemetry's own global provider:
:func:`app.tracing.setup.install` points :data:`_state` at a tracer, the app factory calls
it when ``VISOR_TRACING`` is not ``off``. The hot path pays one attribute read when off.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer

Attributes = Mapping[str, str | int | float | bool]

#: Shared and reusable: ``with span(...) as s`` gives ``s is None`` while tracing is off.
_OFF: contextlib.nullcontext[None] = contextlib.nullcontext()


class _State:
    """The installed tracer (None: tracing off)."""

    __slots__ = ("frame_sample", "tracer")

    def __init__(self) -> None:
        self.tracer: Tracer | None = None
        self.frame_sample = 10  # one frame of a video or stream in this many gets a span


_state = _State()


def enabled() -> bool:
    return _state.tracer is not None


def span(
    name: str,
    attributes: Attributes | None = None,
    *,
    parent: Context | None = None,
    kind: Any = None,
) -> contextlib.AbstractContextManager[Span | None]:
    """A span around a block, current inside it (``None`` and no work when tracing is off).

    An exception leaving the block is recorded on the span and marks it as an error."""
    tracer = _state.tracer
    if tracer is None:
        return _OFF
    if kind is None:
        return tracer.start_as_current_span(name, context=parent, attributes=attributes)
    return tracer.start_as_current_span(name, context=parent, attributes=attributes, kind=kind)


def start_span(
    name: str, attributes: Attributes | None = None, *, parent: Context | None = None
) -> Span | None:
    """A span that is not current yet (ended by whoever holds it), or None when off. For a
    span that begins on one thread and continues on another (a claimed job)."""
    tracer = _state.tracer
    if tracer is None:
        return None
    return tracer.start_span(name, context=parent, attributes=attributes)


def use_span(span_: Span | None) -> contextlib.AbstractContextManager[Any]:
    """Make a span from :func:`start_span` current for a block and end it afterwards."""
    if span_ is None:
        return _OFF
    from opentelemetry import trace

    return trace.use_span(span_, end_on_exit=True, record_exception=True)


def traceparent() -> str | None:
    """The current span as a W3C ``traceparent`` value, for a job row or a worker call."""
    if _state.tracer is None:
        return None
    from opentelemetry import trace

    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def context_from(value: str | None) -> Context | None:
    """The context a ``traceparent`` names (a remote parent), or None if off or invalid."""
    if _state.tracer is None or not value:
        return None
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator().extract({"traceparent": value})


def current_trace_id() -> str | None:
    """The current trace id in hex, for log lines (None when off or outside a span)."""
    if _state.tracer is None:
        return None
    from opentelemetry import trace

    ctx = trace.get_current_span().get_span_context()
    return f"{ctx.trace_id:032x}" if ctx.is_valid else None


def sampled(
    name: str, index: int, attributes: Attributes | None = None
) -> contextlib.AbstractContextManager[Any]:
    """A span for frame ``index`` of a video or stream when it is one of the sampled ones
    (``VISOR_TRACE_FRAME_SAMPLE``, the first included); the other frames run under an
    unsampled parent, so their calls record no spans at all (a 30 fps stream must not
    produce thirty calls' worth of spans a second)."""
    if _state.tracer is None:
        return _OFF
    if index % _state.frame_sample == 0:
        return span(name, attributes)
    return _unsampled()


@contextlib.contextmanager
def _unsampled() -> Any:
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    current = trace.get_current_span().get_span_context()
    muted = NonRecordingSpan(
        SpanContext(
            current.trace_id if current.is_valid else 1,
            current.span_id if current.is_valid else 1,
            is_remote=False,
            trace_flags=TraceFlags(TraceFlags.DEFAULT),
        )
    )
    token = otel_context.attach(trace.set_span_in_context(muted))
    try:
        yield None
    finally:
        otel_context.detach(token)
