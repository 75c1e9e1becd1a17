"""Pipelines and the live camera in Chromium: pipelines on the try page (run, run as job,
failing step), and the live page streaming Chromium's fake camera over the stream
WebSocket — to a tool, to a pipeline that drops frames, and signed in with a session
cookie on a server that requires keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers import builtin_sources, plugin_sources
from live_server import LiveServer
from pipeline_specs import FACE_COLOURS, FAILING
from playwright.sync_api import Browser, Page, expect

from app.auth.keys import KeyCreate
from app.auth.scopes import Scope
from app.settings import Settings
from dashboard.dashboard_browser import RequestLog, astronaut_png

#: Slower than the camera: the server drops frames while it works.
SLOW = {
    "name": "slow-look",
    "steps": [
        {"id": "wait", "tool": "echo.sleep", "args": {"seconds": 0.4}},
        {"id": "look", "tool": "image_info.describe", "args": {"dominant_colors": 1}},
    ],
}


@pytest.fixture(scope="module", autouse=True)
def pipelines(server: LiveServer) -> Iterator[None]:
    for spec in (FACE_COLOURS, FAILING, SLOW):
        httpx.post(f"{server.url}/v1/pipelines", json=spec, timeout=30).raise_for_status()
    yield
    for spec in (FACE_COLOURS, FAILING, SLOW):
        httpx.delete(f"{server.url}/v1/pipelines/{spec['name']}", timeout=30)


def choose_pipeline(page: Page, name: str) -> None:
    page.goto(f"/ui/try?plugin=pipeline&tool={name}")
    expect(page.locator("#plugin-select")).to_have_value("pipeline")
    expect(page.locator("#tool-select")).to_have_value(name)


def upload_astronaut(page: Page) -> None:
    files: list[Any] = [
        {"name": "astronaut.png", "mimeType": "image/png", "buffer": astronaut_png()}
    ]
    page.set_input_files("#file-input", files=files)


def test_a_pipeline_runs_from_the_try_page_and_is_drawn(page: Page) -> None:
    choose_pipeline(page, "face-colours")
    expect(page.locator("#tool-description")).to_contain_text("faces = faces.detect")
    expect(page.locator("#options-summary")).to_have_text("· none")  # steps carry their args
    upload_astronaut(page)
    page.click("#run-button")
    expect(page.locator("#result-status")).to_contain_text("pipeline face-colours")
    face = page.locator("#overlay g[data-kind='faces'] rect")
    expect(face).to_have_count(1)
    x, y, w, h = (float(face.get_attribute(a) or "nan") for a in ("x", "y", "width", "height"))
    assert 150 < x + w / 2 < 290 and 50 < y + h / 2 < 190, (x, y, w, h)  # on the face
    expect(page.locator("#overlay g[data-kind='colours'] rect")).to_have_count(1)
    expect(
        page.locator(".swatch-group", has_text="dominant colors").locator(".swatch")
    ).to_have_count(2)
    expect(page.locator("#json-output")).to_contain_text('"timings_ms"')


def test_a_pipeline_runs_as_a_job(page: Page) -> None:
    choose_pipeline(page, "face-colours")
    upload_astronaut(page)
    page.click("#job-button")
    expect(page.locator("#job-panel .job-line")).to_have_attribute("data-status", "SUCCESS")
    expect(page.locator("#result-status")).to_contain_text("pipeline.face-colours · job")
    expect(page.locator("#overlay g[data-kind='faces'] rect")).to_have_count(1)


def test_a_failing_step_shows_the_envelope_naming_it(page: Page) -> None:
    choose_pipeline(page, "failing")
    upload_astronaut(page)
    page.click("#run-button")
    envelope = page.locator(".envelope")
    expect(envelope).to_have_attribute("data-code", "invalid_input")
    expect(envelope).to_contain_text("HTTP 400")
    expect(envelope.locator("pre")).to_contain_text('"step": "colours"')


def test_the_live_page_streams_the_camera_to_a_tool(page: Page) -> None:
    page.goto("/ui/live?target=image_info.describe")
    expect(page.locator("#live-target")).to_have_value("image_info.describe")
    page.click("#live-start")  # Chromium's fake camera: a moving test pattern
    expect(page.locator("#live-status")).to_contain_text("Streaming to image_info.describe")
    expect(page.locator("#live-answered")).not_to_have_text("0")
    expect(page.locator("#live-answered")).not_to_have_text("1")  # it keeps going
    expect(page.locator(".swatch-group", has_text="mean color")).to_be_visible()
    expect(page.locator("#json-output")).to_contain_text('"plugin": "image_info"')
    expect(page.locator("#live-dropped")).to_have_text(_digits())
    page.click("#live-stop")
    expect(page.locator("#live-status")).to_have_text("Camera off.")
    assert int(page.locator("#live-sent").inner_text()) >= 2


def test_the_live_page_runs_a_pipeline_and_counts_dropped_frames(page: Page) -> None:
    page.goto("/ui/live?target=pipeline.slow-look")
    expect(page.locator("#live-description")).to_contain_text("wait = echo.sleep")
    page.select_option("#live-fps", "15")
    page.click("#live-start")
    expect(page.locator("#json-output")).to_contain_text('"tool": "slow-look"')
    # 15 frames a second into a pipeline that takes 0.4 s: the server drops, and says so.
    expect(page.locator("#live-dropped")).not_to_have_text("0")
    expect(page.locator(".swatch-group", has_text="mean color")).to_be_visible()
    page.click("#live-stop")


def _digits() -> Any:
    import re

    return re.compile(r"^\d+$")


# -- with keys: the stream WebSocket accepts the session cookie ---------------------------


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("live-auth") / "data", _env_file=None
    )
    server = LiveServer(settings, [*plugin_sources("echo"), *builtin_sources("image_info")])
    server.start()
    auth = server.app.state.auth
    keys = {
        s.value: auth.create_key(KeyCreate(name=f"{s.value}-key", scope=s)).secret for s in Scope
    }
    yield server, keys
    server.stop()


@pytest.fixture
def keyed_page(browser: Browser, keyed: tuple[LiveServer, dict[str, str]]) -> Iterator[Page]:
    server, _ = keyed
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


def test_a_signed_in_page_streams_with_its_session_cookie(
    keyed_page: Page, keyed: tuple[LiveServer, dict[str, str]]
) -> None:
    page = keyed_page
    _, keys = keyed
    page.goto("/ui/live?target=image_info.describe")
    expect(page.locator("#login-dialog")).to_be_visible()  # the API said 401
    page.fill("#login-form input[name='key']", keys["run"])
    page.click("#login-form button[type='submit']")
    expect(page.locator("#session-scope")).to_have_text("run")
    expect(page.locator("#live-target")).to_have_value("image_info.describe")
    page.click("#live-start")
    expect(page.locator("#live-answered")).not_to_have_text("0")  # the cookie opened it
    page.click("#live-stop")
