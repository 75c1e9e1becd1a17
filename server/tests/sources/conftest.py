"""Source fixtures: an app with built-in tools whose input roots hold the samples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import builtin_sources, plugin_sources

SAMPLES = Path(__file__).resolve().parents[3] / "samples"


@pytest.fixture
def source_settings() -> dict[str, Any]:
    return {
        "input_roots": [SAMPLES],
        "sources_lease_s": 2.0,
        "sources_reconnect_min_s": 0.1,
        "webhook_backoff_s": 1.0,
        "url_input_allow_networks": ["127.0.0.0/8"],
    }


@pytest.fixture
def source_client(make_client: Any, source_settings: dict[str, Any]) -> TestClient:
    client: TestClient = make_client(
        [*builtin_sources("barcode", "faces", "image_info"), *plugin_sources("echo")],
        **source_settings,
    )
    return client
