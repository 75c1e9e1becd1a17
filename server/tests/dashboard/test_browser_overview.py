"""The overview in Chromium: every plugin with its state, numbers that update live."""

from __future__ import annotations

import httpx
from live_server import LiveServer
from playwright.sync_api import Page, expect


def test_overview_lists_every_plugin_with_its_state(page: Page, server: LiveServer) -> None:
    plugins = httpx.get(f"{server.url}/v1/plugins").json()["plugins"]
    assert len(plugins) >= 5
    page.goto("/")
    for plugin in plugins:
        card = page.locator(f".plugin-card[data-plugin='{plugin['name']}']")
        expect(card).to_be_visible()
        expect(card.locator(".badge")).to_have_text(plugin["state"])
    broken = page.locator(".plugin-card[data-plugin='import_fails']")
    expect(broken.locator(".reason")).to_contain_text("visor_dependency_that_does_not_exist")
    expect(page.locator("#stat-ready")).to_have_text("Ready")
    expect(page.locator("#stat-plugins")).to_have_text(str(len(plugins)))
    # Worker processes of every running isolated plugin.
    for plugin in plugins:
        if plugin["isolation"] == "process" and plugin["state"] != "UNAVAILABLE":
            workers = page.locator(f".plugin-card[data-plugin='{plugin['name']}'] .metrics")
            expect(workers).to_contain_text(" up · 0 busy")


def test_overview_updates_live_without_reloading(page: Page, server: LiveServer) -> None:
    page.goto("/")
    echo = page.locator(".plugin-card[data-plugin='echo']")
    succeeded = echo.locator(".metrics div", has_text="Succeeded").locator("dd")
    expect(succeeded).not_to_have_text("—")
    before = int(succeeded.inner_text().replace(",", ""))
    page.evaluate("window.__sameDocument = true")
    for _ in range(2):
        response = httpx.post(f"{server.url}/v1/analyze", json={"plugin": "echo", "args": {}})
        assert response.status_code == 200
    expect(succeeded).to_have_text(str(before + 2))
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
