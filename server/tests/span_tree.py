"""Span-tree assertions over the OpenTelemetry SDK's in-memory exporter (tracing tests)."""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class Spans:
    """The finished spans of a test, with the lookups the span-tree assertions need."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter

    def all(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.all() if s.name == name]

    def one(self, name: str, **attributes: object) -> ReadableSpan:
        found = [
            s
            for s in self.named(name)
            if all((s.attributes or {}).get(k) == v for k, v in attributes.items())
        ]
        assert len(found) == 1, (name, attributes, [(s.name, s.attributes) for s in self.all()])
        return found[0]

    def has(self, name: str) -> bool:
        return bool(self.named(name))

    def parent_of(self, span: ReadableSpan) -> ReadableSpan | None:
        if span.parent is None:
            return None
        matches = [s for s in self.all() if s.context.span_id == span.parent.span_id]
        return matches[0] if matches else None

    def children(self, span: ReadableSpan) -> list[ReadableSpan]:
        return [
            s
            for s in self.all()
            if s.parent is not None and s.parent.span_id == span.context.span_id
        ]

    def child(self, span: ReadableSpan, name: str) -> ReadableSpan:
        found = [s for s in self.children(span) if s.name == name]
        assert len(found) == 1, (name, [c.name for c in self.children(span)])
        return found[0]

    def path(self, span: ReadableSpan) -> list[str]:
        """Names from the root down to ``span``."""
        names = [span.name]
        current = self.parent_of(span)
        while current is not None:
            names.append(current.name)
            current = self.parent_of(current)
        return names[::-1]
