"""The server side of bench/http_throughput.py: a Visor app plus one bare FastAPI endpoint.

Both endpoints live in the same app, process and server, and run the same no-op
function, so the only difference is Visor's governed path.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from app.auth.policy import ROUTE_SCOPES
from app.auth.scopes import Access
from app.main import create_app
from app.plugins.loader.plugin_loader import source_for_class
from app.plugins.loader.plugin_registry import PluginRegistry
from app.settings import Settings
from benchlib import IN_PROCESS, NoopPlugin, noop


def build() -> FastAPI:
    import os
    import tempfile

    # BENCH_DATA_DIR: a data directory prepared by the benchmark (e.g. holding an API key,
    # which turns authentication on); otherwise a fresh one (no key: the open server).
    data_dir = os.environ.get("BENCH_DATA_DIR") or tempfile.mkdtemp(prefix="visor-bench-")
    settings = Settings(data_dir=data_dir, log_level="WARNING", plugin_isolation=IN_PROCESS)
    app = create_app(
        settings,
        registry=PluginRegistry(),
        plugin_sources=[source_for_class(NoopPlugin)],
    )

    ROUTE_SCOPES[("POST", "/bench/bare")] = Access.RUN  # how an embedding app declares a route

    @app.post("/bench/bare")
    def bare(body: dict[str, Any]) -> dict[str, Any]:
        return {"result": noop(body.get("args", {})), "plugin": body.get("plugin")}

    return app
