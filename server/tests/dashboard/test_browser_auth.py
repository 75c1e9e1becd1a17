"""API keys in Chromium: the page asks for a key, keeps it in an httpOnly cookie session,
sends the CSRF token on changes, and a read key sees but cannot run, cancel or submit a
video job."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from helpers import builtin_sources, plugin_sources
from live_server import LiveServer
from playwright.sync_api import Browser, Page, expect

from app.auth.keys import KeyCreate
from app.auth.scopes import Scope
from app.settings import Settings
from dashboard.dashboard_browser import RequestLog
from dashboard.test_browser_video import CODES_MP4


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict]]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("dashboard-auth") / "data", _env_file=None
    )
    server = LiveServer(settings, [*plugin_sources("echo"), *builtin_sources("barcode")]).start()
    auth = server.app.state.auth
    keys = {
        s.value: auth.create_key(KeyCreate(name=f"{s.value}-key", scope=s)).secret for s in Scope
    }
    yield server, keys
    server.stop()


@pytest.fixture
def keyed_page(browser: Browser, keyed_server: tuple[LiveServer, dict]) -> Iterator[Page]:
    server, _ = keyed_server
    log = RequestLog(server.url)
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    context.on("request", log.record)
    page = context.new_page()
    errors: list[Any] = []
    page.on("pageerror", lambda error: errors.append(error))
    yield page
    context.close()
    assert not log.foreign(), log.foreign()
    assert not errors, errors


def sign_in(page: Page, key: str) -> None:
    page.goto("/")
    dialog = page.locator("#login-dialog")
    expect(dialog).to_be_visible()  # the API said 401: the page asks for a key
    page.fill("#login-form input[name='key']", key)
    page.click("#login-form button[type='submit']")
    expect(page.locator(".plugin-card[data-plugin='echo']")).to_be_visible()
    expect(dialog).to_be_hidden()


def test_a_run_key_signs_in_runs_tools_and_the_key_stays_out_of_scripts(
    keyed_page: Page, keyed_server: tuple[LiveServer, dict]
) -> None:
    page = keyed_page
    _, keys = keyed_server
    page.goto("/")
    expect(page.locator("#login-dialog")).to_be_visible()
    # It says how a key is made and how to turn keys off; the badge says "sign in", not
    # "offline": the server is up, it wants a key (issue 29).
    expect(page.locator("#login-help")).to_contain_text("visor keys create NAME --scope run")
    expect(page.locator("#login-help")).to_contain_text("visor keys delete --all")
    expect(page.locator("#live")).to_have_attribute("data-state", "locked")
    expect(page.locator("#live .live-text")).to_have_text("sign in")
    page.fill("#login-form input[name='key']", "vsr_wrong_key")
    page.click("#login-form button[type='submit']")
    expect(page.locator("#login-error")).to_be_visible()
    sign_in(page, keys["run"])
    expect(page.locator("#session-scope")).to_have_text("run")
    session = next(c for c in page.context.cookies() if c["name"] == "visor_session")
    assert session["httpOnly"] is True and session["sameSite"] == "Strict"
    assert "visor_session" not in page.evaluate("() => document.cookie")
    assert keys["run"] not in page.content()

    page.goto("/ui/try?plugin=echo&tool=echo")
    expect(page.locator("#tool-select")).to_have_value("echo")
    page.fill("#opt-text", "signed in")
    page.click("#run-button")
    expect(page.locator("#json-output")).to_contain_text('"text": "signed in"')
    page.click("#job-button")
    expect(page.locator(".job-line")).to_have_attribute("data-status", "SUCCESS")

    # Without the CSRF token the same cookie cannot change anything.
    status = page.evaluate(
        """async () => (await fetch('/v1/analyze', {method: 'POST',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({plugin: 'echo', args: {}})})).status"""
    )
    assert status == 401

    page.click("#sign-out")
    expect(page.locator("#login-dialog")).to_be_visible()


def test_a_read_key_sees_but_cannot_run_or_cancel(
    keyed_page: Page, keyed_server: tuple[LiveServer, dict]
) -> None:
    page = keyed_page
    _, keys = keyed_server
    sign_in(page, keys["read"])
    expect(page.locator("#session-scope")).to_have_text("read")
    expect(page.locator(".plugin-card[data-plugin='echo'] .badge")).to_be_visible()

    page.goto("/ui/try?plugin=echo&tool=echo")
    expect(page.locator("#tool-select")).to_have_value("echo")
    expect(page.locator("#run-button")).to_be_disabled()
    expect(page.locator("#job-button")).to_be_disabled()
    expect(page.locator("#result-status")).to_contain_text("scope read")

    page.goto("/ui/plugins/echo")
    expect(page.locator("[data-tool='sleep']")).to_be_visible()

    # The server refuses too, whatever the page shows: run and cancel are 403 for this key.
    statuses = page.evaluate(
        """async () => {
            const token = document.cookie.split('; ')
                .find(c => c.startsWith('visor_csrf=')).split('=')[1];
            const headers = {'Content-Type': 'application/json', 'X-CSRF-Token': token};
            const run = await fetch('/v1/analyze', {method: 'POST', headers,
                body: JSON.stringify({plugin: 'echo', args: {}})});
            const cancel = await fetch('/v1/jobs/0123456789abcdef', {method: 'DELETE', headers});
            return [run.status, cancel.status];
        }"""
    )
    assert statuses == [403, 403]


def test_a_read_key_cannot_submit_a_video_job(
    keyed_page: Page, keyed_server: tuple[LiveServer, dict]
) -> None:
    page = keyed_page
    _, keys = keyed_server
    sign_in(page, keys["read"])
    page.goto("/ui/try?plugin=barcode&tool=read")
    expect(page.locator("#tool-select")).to_have_value("read")
    page.set_input_files(
        "#file-input",
        files=[{"name": "codes.mp4", "mimeType": "video/mp4", "buffer": CODES_MP4.read_bytes()}],
    )
    expect(page.locator("#video-options")).to_be_visible()
    expect(page.locator("#job-button")).to_have_text("Run as video job")
    expect(page.locator("#job-button")).to_be_disabled()
    expect(page.locator("#run-button")).to_be_disabled()
    # Forced, with the session's CSRF token: the server refuses the read key (403).
    status = page.evaluate(
        """async () => {
            const token = document.cookie.split('; ')
                .find(c => c.startsWith('visor_csrf=')).split('=')[1];
            const form = new FormData();
            form.append('file', new Blob(['not read'], {type: 'video/mp4'}), 'codes.mp4');
            form.append('plugin', 'barcode');
            const response = await fetch('/v1/video/jobs',
                {method: 'POST', headers: {'X-CSRF-Token': token}, body: form});
            return response.status;
        }"""
    )
    assert status == 403
