"""The app factory and the module-level app."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from helpers import plugin_sources

from app.plugins.loader.plugin_registry import get_registry


def test_module_level_app_uses_the_process_registry() -> None:
    from app.main import app

    assert isinstance(app, FastAPI)
    assert app.state.registry is get_registry()
    assert app.state.settings.host == "127.0.0.1"


def test_hostile_plugins_do_not_stop_the_server(make_client: Any) -> None:
    client = make_client(
        plugin_sources("echo", "slow_constructor", "import_fails", "not_a_plugin", "raises"),
        plugin_load_timeout_s=0.5,
    )
    assert client.get("/v1/ready").status_code == 200
    plugins = {p["name"]: p for p in client.get("/v1/plugins").json()["plugins"]}
    assert plugins["slow_constructor"]["state"] == "UNAVAILABLE"
    assert "longer than 0.5s" in plugins["slow_constructor"]["reason"]
    assert plugins["import_fails"]["state"] == "UNAVAILABLE"
    assert plugins["not_a_plugin"]["state"] == "UNAVAILABLE"
    for _ in range(3):
        assert client.post("/v1/analyze", json={"plugin": "raises"}).status_code == 500
        response = client.post("/v1/analyze", json={"plugin": "echo", "args": {"text": "ok"}})
        assert response.status_code == 200
    assert client.get("/v1/plugins/echo/health").json()["success_count"] == 3
    assert client.get("/v1/plugins/raises/health").json()["error_count"] == 3
    response = client.post("/v1/analyze", json={"plugin": "slow_constructor"})
    assert response.status_code == 503
    assert response.json()["error"]["details"]["code"] == "plugin_unavailable"


def test_allowlist_setting_limits_discovery(make_client: Any) -> None:
    client = make_client(None, plugins_allowlist=["visor_test_echo"])
    names = [p["name"] for p in client.get("/v1/plugins").json()["plugins"]]
    assert names == ["echo"]
