"""Shared fixtures: a fresh app per test, with tmp-path storage and chosen plugins."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import IN_PROCESS_TEST_PLUGINS

from app.main import create_app
from app.plugins.loader.plugin_loader import PluginSource
from app.plugins.loader.plugin_registry import PluginRegistry
from app.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        plugin_isolation=dict.fromkeys(IN_PROCESS_TEST_PLUGINS, "in_process"),
        _env_file=None,
    )


AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(settings: Settings) -> Iterator[AppFactory]:
    """Build a started app (lifespan run) with the given plugin sources and settings."""
    opened: list[TestClient] = []

    def factory(sources: list[PluginSource] | None = None, **overrides: Any) -> TestClient:
        merged = settings.model_copy(update=overrides)
        app = create_app(merged, registry=PluginRegistry(), plugin_sources=sources)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        return client

    yield factory
    for client in reversed(opened):
        client.__exit__(None, None, None)
