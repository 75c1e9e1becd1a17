"""Isolated plugins are built in their workers: a constructor that crashes costs nothing."""

from __future__ import annotations

import os
from typing import Any

from executors import executor_settings
from helpers import plugin_sources


def test_constructors_that_crash_or_raise_leave_the_server_serving(
    make_client: Any, executor_kind: str
) -> None:
    client = make_client(
        plugin_sources("echo", "segfault_constructor", "raising_constructor"),
        **executor_settings(executor_kind),
    )
    assert client.get("/v1/ready").status_code == 200
    plugins = {p["name"]: p for p in client.get("/v1/plugins").json()["plugins"]}

    crashed = plugins["segfault_constructor"]  # its worker died: FAILED, retried later
    assert crashed["state"] == "FAILED"
    assert "worker exited during startup" in crashed["reason"]
    raising = plugins["raising_constructor"]
    assert raising["state"] == "UNAVAILABLE"
    assert "cannot open the device" in raising["reason"]

    for name in ("segfault_constructor", "raising_constructor"):
        response = client.post("/v1/analyze", json={"plugin": name})
        assert response.status_code == 503
        assert response.json()["error"]["details"]["code"] == "plugin_unavailable"
    response = client.post("/v1/analyze", json={"plugin": "echo", "args": {"text": "alive"}})
    assert response.status_code == 200
    assert response.json()["result"]["pid"] == os.getpid()  # echo is in-process: same server
