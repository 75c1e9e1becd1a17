"""What one overview poll costs the server, against ``GET /v1/plugins`` in the same run.

Run: ``python bench/dashboard_poll.py [--pending N]``. Builds an app with the no-op plugin,
stops its dispatcher and queues N jobs (they stay PENDING, so the queue-depth count has
rows to count), then times, in-process through Starlette's test client, the requests the
overview page makes every 2 s: ``/ui/api/overview`` (health, pools, queue depth),
``/v1/jobs?limit=5`` and ``/v1/ready``, each as a ratio to ``/v1/plugins`` (the baseline:
the same plugin list without pools and counts).
"""

from __future__ import annotations

import argparse
import tempfile

from fastapi.testclient import TestClient

from app.main import create_app
from app.plugins.loader.plugin_loader import source_for_class
from app.plugins.loader.plugin_registry import PluginRegistry
from app.settings import Settings
from benchlib import NoopPlugin, per_call_us


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pending", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--batches", type=int, default=5)
    args = parser.parse_args()
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tempfile.mkdtemp(prefix="visor-bench-dashboard-"),
        log_level="WARNING",
        plugin_isolation={"bench_noop": "in_process"},
        _env_file=None,
    )
    app = create_app(
        settings, registry=PluginRegistry(), plugin_sources=[source_for_class(NoopPlugin)]
    )
    with TestClient(app) as client:
        app.state.job_service.dispatcher.stop()
        for _ in range(args.pending):
            client.post("/v1/jobs", json={"plugin": "bench_noop", "args": {"n": 1}})
        assert client.get("/ui/api/overview").json()["jobs"]["pending"] == args.pending

        def timed(path: str) -> float:
            return per_call_us(lambda: client.get(path), args.calls, args.batches)

        baseline = timed("/v1/plugins")
        print(f"{args.pending} pending jobs; GET /v1/plugins {baseline:.0f} µs (baseline)")
        for path in ("/ui/api/overview", "/v1/jobs?limit=5", "/v1/ready"):
            cost = timed(path)
            print(f"GET {path:<18} {cost:7.0f} µs  {cost / baseline:5.2f}x baseline")


if __name__ == "__main__":
    main()
