"""Stream fixtures: an app with the gate plugin and the image_info built-in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from gate_plugin import ENTERED, OPEN, GatePlugin
from helpers import builtin_sources

from app.plugins.loader.plugin_loader import source_for_class


@pytest.fixture
def gate() -> Iterator[None]:
    OPEN.clear()
    while not ENTERED.empty():
        ENTERED.get_nowait()
    yield
    OPEN.set()  # never leave a tool thread waiting


@pytest.fixture
def streams_client(make_client: Any, gate: None) -> TestClient:
    client: TestClient = make_client(
        [source_for_class(GatePlugin), *builtin_sources("image_info")], force_in_process=True
    )
    return client
