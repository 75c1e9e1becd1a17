"""Issue 10 item 1: no plugin opts out of isolation; in-process calls are governed too."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from governed_plugins import RELEASE, OptsOutPlugin, StuckPlugin
from helpers import plugin_sources
from isolation_helpers import eventually

from app.plugins.loader.plugin_loader import source_for_class


def test_a_plugin_cannot_opt_itself_out_of_isolation(make_client: Any) -> None:
    client: TestClient = make_client([source_for_class(OptsOutPlugin)], plugin_isolation={})
    response = client.post("/v1/plugins/opts_out/tools/where/run", json={})
    assert response.status_code == 200
    assert response.json()["result"]["pid"] != os.getpid()  # ran in a worker process
    assert client.get("/v1/plugins/opts_out/health").json()["isolation"] == "process"


def test_the_operator_alone_puts_a_plugin_in_process(make_client: Any) -> None:
    client: TestClient = make_client(
        [source_for_class(OptsOutPlugin)], plugin_isolation={"opts_out": "in_process"}
    )
    response = client.post("/v1/plugins/opts_out/tools/where/run", json={})
    assert response.json()["result"]["pid"] == os.getpid()


@pytest.fixture
def stuck_client(make_client: Any) -> Iterator[TestClient]:
    RELEASE.clear()
    client = make_client(
        [source_for_class(StuckPlugin), *plugin_sources("echo")],
        plugin_isolation={"stuck": "in_process", "echo": "in_process"},
        plugin_queue_sizes={"stuck": 1},
        tool_timeouts={"stuck.ping": 0.5},
    )
    yield client
    RELEASE.set()  # let the abandoned thread finish


def _call(client: TestClient, tool: str, box: dict[str, Any]) -> threading.Thread:
    def run() -> None:
        box[tool] = client.post(f"/v1/plugins/stuck/tools/{tool}/run", json={})

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_stuck_in_process_call_times_out_and_keeps_its_slot(
    stuck_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = stuck_client
    admission = client.app.state.plugin_service.executor.in_process.admission("stuck")  # type: ignore[attr-defined]
    assert admission.limit == 1 and admission.queue_size == 1

    # The caller of a tool that never returns gets `timeout` at the tool's limit …
    response = client.post("/v1/plugins/stuck/tools/hang/run", json={})
    assert response.status_code == 504
    assert response.json()["error"]["details"]["code"] == "timeout"
    # … but the tool still runs, so it still holds the plugin's only slot.
    assert admission.stats()["running"] == 1

    # The next call waits in the one queue place; the one after it is refused at once.
    box: dict[str, Any] = {}
    waiting = _call(client, "ping", box)
    eventually(lambda: admission.stats()["queued"] == 1, "a call to queue")
    with caplog.at_level(logging.INFO, logger="visor"):
        refused = client.post("/v1/plugins/stuck/tools/ping/run", json={})
    assert not [r for r in caplog.records if "saturated" in r.getMessage()]  # cheap refusals
    assert refused.status_code == 503
    assert refused.json()["error"]["details"]["code"] == "overloaded"
    assert "Retry-After" in refused.headers
    waiting.join(30)
    assert box["ping"].json()["error"]["details"]["code"] == "overloaded"  # never got a slot

    # Other plugins, the run route and health are unaffected.
    other = client.post("/v1/analyze", json={"plugin": "echo", "args": {"text": "alive"}})
    assert other.status_code == 200
    assert client.get("/v1/health").status_code == 200

    # When the stuck tool really ends its slot comes back.
    RELEASE.set()
    eventually(lambda: admission.stats()["running"] == 0, "the stuck tool to end")
    assert client.post("/v1/plugins/stuck/tools/ping/run", json={}).json()["result"] == {
        "pong": True
    }


def test_many_stuck_calls_cannot_starve_other_plugins(stuck_client: TestClient) -> None:
    """Issue 10: 60 concurrent calls to a hanging in-process tool hung every door."""
    client = stuck_client
    box: dict[int, Any] = {}

    def call(i: int) -> None:
        box[i] = client.post("/v1/plugins/stuck/tools/hang/run", json={}).status_code

    threads = [threading.Thread(target=call, args=(i,), daemon=True) for i in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert set(box.values()) <= {503, 504} and 503 in box.values()
    other = client.post("/v1/analyze", json={"plugin": "echo", "args": {"text": "alive"}})
    assert other.status_code == 200


def test_one_plugins_backlog_does_not_take_every_request_thread(make_client: Any) -> None:
    """60 calls queued behind a stuck plugin (more than anyio's default 40 threads) must not
    keep another plugin's request waiting (issue 15: no plugin starves another)."""
    RELEASE.clear()
    client: TestClient = make_client(
        [source_for_class(StuckPlugin), *plugin_sources("echo")],
        plugin_isolation={"stuck": "in_process", "echo": "in_process"},
        tool_timeouts={"stuck.hang": 600},
    )
    admission = client.app.state.plugin_service.executor.in_process.admission("stuck")  # type: ignore[attr-defined]
    threads = [
        threading.Thread(
            target=lambda: client.post("/v1/plugins/stuck/tools/hang/run", json={}), daemon=True
        )
        for _ in range(60)
    ]
    try:
        for thread in threads:
            thread.start()
        eventually(
            lambda: admission.stats()["queued"] == 59, "59 calls queued behind the stuck one"
        )
        other = client.post("/v1/analyze", json={"plugin": "echo", "args": {"text": "alive"}})
        assert other.status_code == 200
    finally:
        RELEASE.set()
        for thread in threads:
            thread.join(60)
