"""Frames of a video job or a live stream are sampled: one in VISOR_TRACE_FRAME_SAMPLE gets
a span, and the calls of the others record no spans at all."""

from __future__ import annotations

from typing import Any

from helpers import plugin_sources
from span_tree import Spans

from app.tracing import spans as tracing


def test_one_frame_in_n_is_traced_and_the_others_record_nothing(
    spans: Spans, make_client: Any
) -> None:
    client = make_client(plugin_sources("echo"))
    plugins = client.app.state.plugin_service
    every = tracing._state.frame_sample
    with tracing.span("stream"):
        for index in range(2 * every + 1):
            with tracing.sampled("visor.stream.frame", index, {"visor.frame.index": index}):
                result, error = plugins.run("echo", {"text": str(index)}, "echo")
                assert error == {} and result["text"] == str(index)
    frames = spans.named("visor.stream.frame")
    assert sorted(f.attributes["visor.frame.index"] for f in frames) == [0, every, 2 * every]
    calls = spans.named("visor.call")
    assert len(calls) == 3  # the sampled frames' calls only
    assert all(spans.parent_of(c).name == "visor.stream.frame" for c in calls)
