"""Turning tracing on: an OpenTelemetry SDK provider, its exporters, and off again.

Configured by ``VISOR_TRACING`` and the standard ``OTEL_*`` variables (the OTLP exporter
reads ``OTEL_EXPORTER_OTLP_ENDPOINT`` and friends, the resource ``OTEL_SERVICE_NAME`` and
``OTEL_RESOURCE_ATTRIBUTES``, the sampler ``OTEL_TRACES_SAMPLER``; ``OTEL_SDK_DISABLED=true``
keeps tracing off). The provider's processors sit behind one fan-out that Visor owns, so
spans recorded in a worker process or a Ray actor (:mod:`app.tracing.remote`) are handed to
the same exporters as the server's own.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from app.tracing import spans

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger("visor.tracing")

SCOPE = "visor"
DEFAULT_SERVICE_NAME = "visor"


class TracingUnavailable(RuntimeError):
    """Tracing was asked for but the ``tracing`` extra is not installed."""


class Tracing:
    """The installed provider and the fan-out its exporters hang from."""

    def __init__(self, provider: TracerProvider, fanout: Any) -> None:
        self.provider = provider
        self._fanout = fanout

    def add_processor(self, processor: SpanProcessor) -> None:
        self._fanout.add_span_processor(processor)

    def export(self, span: Any) -> None:
        """Hand a finished span recorded elsewhere (a worker) to every exporter."""
        self._fanout.on_end(span)

    def force_flush(self, timeout_ms: int = 5000) -> bool:
        return bool(self.provider.force_flush(timeout_ms))

    def shutdown(self) -> None:
        self.provider.shutdown()


_installed: Tracing | None = None


def installed() -> Tracing | None:
    return _installed


def install(
    *processors: SpanProcessor, service_name: str | None = None, frame_sample: int = 10
) -> Tracing:
    """Turn tracing on for this process with the given span processors (replacing any
    earlier installation). ``frame_sample``: one video or stream frame in this many gets
    a span."""
    global _installed
    try:
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import SynchronousMultiSpanProcessor, TracerProvider
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise TracingUnavailable(
            "tracing needs the OpenTelemetry SDK: pip install 'visor-server[tracing]'"
        ) from exc
    uninstall()
    attributes = {}
    if not os.environ.get("OTEL_SERVICE_NAME"):
        attributes[SERVICE_NAME] = service_name or DEFAULT_SERVICE_NAME
    provider = TracerProvider(resource=Resource.create(attributes))
    fanout = SynchronousMultiSpanProcessor()
    provider.add_span_processor(fanout)
    tracing = Tracing(provider, fanout)
    for processor in processors:
        tracing.add_processor(processor)
    _installed = tracing
    # Not made OpenTelemetry's global provider: libraries that trace through the global
    # one (FastAPI's own telemetry, the MCP SDK) would add a second door span per request.
    spans._state.tracer = provider.get_tracer(SCOPE)
    spans._state.frame_sample = max(1, frame_sample)
    return tracing


def uninstall() -> None:
    """Turn tracing off again (flushing and closing the exporters)."""
    global _installed
    tracing, _installed = _installed, None
    spans._state.tracer = None
    if tracing is not None:
        tracing.shutdown()


def install_from_settings(mode: str, frame_sample: int = 10) -> Tracing | None:
    """Install what ``VISOR_TRACING`` asks for: None for ``off`` (or OTEL_SDK_DISABLED)."""
    if mode == "off" or os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return None
    return install(_batch(_exporter(mode)), frame_sample=frame_sample)


def _exporter(mode: str) -> SpanExporter:
    try:
        if mode == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            return ConsoleSpanExporter()
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:
        raise TracingUnavailable(
            f"VISOR_TRACING={mode} needs the OpenTelemetry SDK and OTLP exporter: "
            "pip install 'visor-server[tracing]'"
        ) from exc
    return OTLPSpanExporter()


def _batch(exporter: SpanExporter) -> SpanProcessor:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    return BatchSpanProcessor(exporter)
