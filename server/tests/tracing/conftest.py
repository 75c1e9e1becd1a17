"""Tracing on, into the OpenTelemetry SDK's in-memory exporter, for one test at a time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from span_tree import Spans

from app.tracing import setup


@pytest.fixture
def spans() -> Iterator[Spans]:
    exporter = InMemorySpanExporter()
    setup.install(SimpleSpanProcessor(exporter))
    try:
        yield Spans(exporter)
    finally:
        setup.uninstall()
