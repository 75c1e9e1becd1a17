"""On Ray the tool's run is recorded on the actor (its own process, maybe another node),
sent back with the reply and exported by the server, under the call's span."""

from __future__ import annotations

import os
from typing import Any

import pytest
from executors import executor_settings, ray_cluster  # noqa: F401  (fixture)
from helpers import b64, builtin_sources, png_bytes
from span_tree import Spans

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def test_the_tools_run_on_a_ray_actor_is_a_span_of_the_call(
    spans: Spans,
    make_client: Any,
    ray_cluster: str,  # noqa: F811
) -> None:
    client = make_client(builtin_sources("image_info"), **executor_settings("ray"))
    response = client.post("/v1/analyze", json={"plugin": "image_info", "image": b64(png_bytes())})
    assert response.status_code == 200, response.text
    call = spans.one("visor.call", **{"visor.plugin": "image_info"})
    run = spans.child(spans.child(call, "visor.execute"), "visor.tool_run")
    assert run.attributes["process.pid"] not in (0, os.getpid())
    assert run.context.trace_id == call.context.trace_id
