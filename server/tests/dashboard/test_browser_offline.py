"""Offline and responsive: nothing but the server is contacted, no page scrolls sideways,
and the API docs render from the packaged Swagger UI and ReDoc."""

from __future__ import annotations

import httpx
import pytest
from live_server import LiveServer
from playwright.sync_api import Page, expect

from dashboard.dashboard_browser import RequestLog, astronaut_png


def _a_job(server: LiveServer) -> str:
    response = httpx.post(f"{server.url}/v1/jobs", json={"plugin": "echo", "args": {"text": "x"}})
    assert response.status_code == 202
    return str(response.json()["id"])


def _visit_every_page(page: Page, server: LiveServer) -> list[str]:
    job_id = _a_job(server)
    visits = {
        "/": ".plugin-card",
        "/ui/plugins/faces": "[data-tool='detect'] .args",
        "/ui/try?plugin=faces&tool=detect": "#tool-select option",
        "/ui/jobs": "#jobs-table tbody tr",
        f"/ui/jobs/{job_id}": "#job-status .badge",
    }
    for path, ready in visits.items():
        page.goto(path)
        expect(page.locator(ready).first).to_be_attached()
    return list(visits)


def test_no_request_goes_to_any_host_but_the_server(
    page: Page, server: LiveServer, requests_seen: RequestLog
) -> None:
    _visit_every_page(page, server)
    page.goto("/ui/try?plugin=faces&tool=detect")
    page.set_input_files(
        "#file-input",
        files=[{"name": "a.png", "mimeType": "image/png", "buffer": astronaut_png()}],
    )
    page.click("#run-button")
    expect(page.locator("#overlay rect")).to_have_count(1)
    for path, ready in (("/docs", ".opblock"), ("/redoc", "[role='navigation'], .api-content")):
        page.goto(path)
        expect(page.locator(ready).first).to_be_attached()
    seen = requests_seen.urls
    assert any(u.endswith("/v1/plugins") for u in seen)  # the log does record fetches
    assert any("/events" in u for u in seen) or any("/v1/jobs/" in u for u in seen)
    assert any("swagger-ui-bundle.js" in u for u in seen)
    assert any("redoc.standalone.js" in u for u in seen)
    assert requests_seen.foreign() == []


@pytest.mark.parametrize("width", [1280, 390])
def test_no_page_scrolls_sideways(page: Page, server: LiveServer, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    job_id = _a_job(server)
    checks = {
        "/": ".plugin-card",
        "/ui/plugins/barcode": "[data-tool='read'] .args",
        "/ui/try?plugin=barcode&tool=read": "#tool-select option",
        "/ui/jobs": "#jobs-table tbody tr",
        f"/ui/jobs/{job_id}": "#job-status .badge",
    }
    for path, ready in checks.items():
        page.goto(path)
        expect(page.locator(ready).first).to_be_attached()
        if path.startswith("/ui/try"):  # with a result drawn, the widest the page gets
            page.set_input_files(
                "#file-input",
                files=[{"name": "a.png", "mimeType": "image/png", "buffer": astronaut_png()}],
            )
            page.click("#run-button")
            expect(page.locator("#json-box")).to_be_visible()
        scroll, client = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert scroll <= client, f"{path} at {width}px: {scroll}px wide in a {client}px window"


def test_swagger_ui_renders_offline_with_the_operations_list(page: Page) -> None:
    page.goto("/docs")
    expect(page.locator(".opblock-tag").first).to_be_visible()
    analyze = page.locator(".opblock", has_text="/v1/analyze")
    expect(analyze.first).to_be_visible()
    expect(page.locator(".opblock", has_text="/v1/jobs/{job_id}/events").first).to_be_visible()
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Visor")


def test_redoc_renders_offline(page: Page) -> None:
    page.goto("/redoc")
    expect(page.locator("h1", has_text="Visor").first).to_be_visible()
    expect(
        page.get_by_text("Run a tool on an image and wait for the result").first
    ).to_be_attached()
