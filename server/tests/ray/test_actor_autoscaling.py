"""Ray actor pools grow and shrink between a min and a max on queue depth (issue 27), on
the session's real Ray: a burst of calls grows the pool to its max, idleness shrinks it
back to its min, and no call fails during either."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from executors import executor_settings
from fastapi.testclient import TestClient
from helpers import plugin_sources
from waiting import wait_until

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _present(stats: dict[str, Any]) -> int:
    return int(stats["idle"] + stats["busy"] + stats["starting"])


def test_a_burst_grows_the_pool_and_idleness_shrinks_it(
    make_client: Any, settings: Any, ray_cluster: str
) -> None:
    client: TestClient = make_client(
        plugin_sources("echo"),
        **executor_settings("ray", settings, on_ray=("echo",)),
        plugin_workers={"echo": 3},
        warm_workers=1,
        worker_queue_size=32,
        ray_num_cpus=0.25,
        ray_actor_idle_s=1.0,
    )

    def call(tool: str, args: dict[str, Any]) -> int:
        response = client.post(f"/v1/plugins/echo/tools/{tool}/run", json=args)
        return response.status_code

    assert call("noop", {}) == 200
    pool = client.app.state.plugin_service.executor.process.pool("echo")
    assert _present(pool.stats()) == 1  # the min: one warm actor

    # A burst: 9 calls of 0.5 s at once queue behind one actor; the pool grows to its max.
    peak = [1]
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.01):
            peak[0] = max(peak[0], _present(pool.stats()))

    watcher = threading.Thread(target=watch)
    watcher.start()
    with ThreadPoolExecutor(9) as burst:
        statuses = list(burst.map(lambda _: call("sleep", {"seconds": 0.5}), range(9)))
    stop.set()
    watcher.join()
    assert statuses == [200] * 9  # no call failed while the pool grew
    assert peak[0] == 3

    # Idle: calls keep trickling in (one at a time, which one actor serves); the actors
    # beyond the min stop, and no call fails meanwhile.
    trickled: list[int] = []
    pause = threading.Event()  # never set: its wait spaces the trickle
    while pool.stats()["shrunk"] < 2:
        trickled.append(call("noop", {}))
        pause.wait(0.05)
        assert len(trickled) < 2000, "the pool never shrank"
    assert set(trickled) == {200}
    wait_until(lambda: _present(pool.stats()) == 1, "the pool to be back at its min")
    assert call("sleep", {"seconds": 0.01}) == 200
