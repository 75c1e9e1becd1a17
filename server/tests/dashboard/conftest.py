"""Dashboard fixtures: one live server for the package, Chromium per module, a page per test.

Browser tests skip (with the reason) where Debian's Chromium or Playwright is missing; the
page-level tests that need no browser always run. Every browser test's page logs its
requests, and the test fails if any went anywhere but the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from live_server import LiveServer

from dashboard.dashboard_browser import (
    LAUNCH_ARGS,
    RequestLog,
    chromium_missing,
    chromium_path,
    dashboard_server,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright


# Package scope: the server (and its worker processes) is gone before session-scoped
# checks elsewhere (tests/runtime) look for leftover workers.
@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = dashboard_server(tmp_path_factory.mktemp("dashboard") / "data")
    yield live.start()
    live.stop()


EXPECT_TIMEOUT_MS = 30_000


# Playwright's sync API keeps an event loop running on the main thread while it is open, so
# it is opened per module, never for the session: other tests call asyncio.run.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    missing = chromium_missing()
    if missing:
        pytest.skip(missing)
    from playwright.sync_api import expect, sync_playwright

    # Assertions retry until this long (Playwright's default, 5 s, is short on a busy CI box).
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=LAUNCH_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def requests_seen(server: LiveServer) -> RequestLog:
    return RequestLog(server.url)


@pytest.fixture
def viewport() -> dict[str, int]:
    return {"width": 1280, "height": 900}


@pytest.fixture
def page(
    browser: Browser, server: LiveServer, requests_seen: RequestLog, viewport: dict[str, int]
) -> Iterator[Page]:
    """A page on the server; the test fails if it reached any other host or threw."""
    context = browser.new_context(base_url=server.url, viewport=viewport, service_workers="block")
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    context.on("request", requests_seen.record)
    page = context.new_page()
    errors: list[Any] = []
    page.on("pageerror", lambda error: errors.append(error))
    yield page
    context.close()
    assert not requests_seen.foreign(), f"requests left the server: {requests_seen.foreign()}"
    assert not errors, f"uncaught script errors: {errors}"
