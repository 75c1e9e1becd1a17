"""Auth fixtures: a started app with the echo plugin and keys of every kind."""

from __future__ import annotations

from typing import Any

import pytest
from auth_helpers import Keys, create_keys
from fastapi.testclient import TestClient
from helpers import plugin_sources


@pytest.fixture
def secured(make_client: Any) -> tuple[TestClient, Keys]:
    """An app with the echo plugin and keys (so authentication is on)."""
    client: TestClient = make_client(
        plugin_sources("echo"),
        job_progress_interval_s=0.0,
        auth_failures_burst=1000,
        force_in_process=True,
    )
    keys = create_keys(client.app.state.auth, rate_per_s=1000.0, burst=1000)  # type: ignore[attr-defined]
    return client, keys
