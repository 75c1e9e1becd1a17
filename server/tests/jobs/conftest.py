"""Job test fixtures: the store on SQLite and on a throwaway PostgreSQL database.

PostgreSQL tests share one throwaway database per session (:mod:`databases`), emptied
before each test; they are skipped, with the reason, when no server answers.
"""

from __future__ import annotations

from typing import Any

import pytest
from databases import database_url, postgres_admin, postgres_url  # noqa: F401  (fixtures)
from executors import executor_kind, executor_settings, ray_cluster  # noqa: F401  (fixtures)
from fastapi.testclient import TestClient
from helpers import plugin_sources
from job_plugins import SOURCES

from app.settings import Settings


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Ray runs with SQLite only: the store is the same either way, and PostgreSQL with Ray
    has its own tests (server/tests/ray)."""
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        both = params.get("database_url") == "postgres" and params.get("executor_kind") == "ray"
        (drop if both else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def job_client(
    make_client: Any,
    settings: Settings,
    database_url: str | None,  # noqa: F811
    executor_kind: str,  # noqa: F811
) -> TestClient:
    """A started app with the echo plugin and the job test plugins, on each backend and
    executor (with Ray, echo runs on actors; jobtest stays in-process: its tests watch it)."""
    client: TestClient = make_client(
        [*plugin_sources("echo"), *SOURCES],
        database_url=database_url,
        job_progress_interval_s=0.0,
        job_shutdown_grace_s=0.5,
        **executor_settings(executor_kind, settings, on_ray=("echo",)),
    )
    return client
