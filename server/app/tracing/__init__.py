"""OpenTelemetry tracing for every hop of a call, off by default and free when off.

A low layer (it imports nothing of Visor's), so the doors, the features, ToolRunner and
the worker processes all use the same few functions: :func:`span`, :func:`sampled`,
:func:`traceparent` and :func:`context_from`. While tracing is off they return a shared
no-op context manager or ``None`` without building a span, a context or a dict, and the
OpenTelemetry packages are not even imported (they come with the ``tracing`` extra).
"""

from app.tracing.spans import (
    context_from,
    current_trace_id,
    enabled,
    sampled,
    span,
    start_span,
    traceparent,
    use_span,
)

__all__ = [
    "context_from",
    "current_trace_id",
    "enabled",
    "sampled",
    "span",
    "start_span",
    "traceparent",
    "use_span",
]
