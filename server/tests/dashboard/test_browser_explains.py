"""The dashboard explains (issue 29 items 7 and 13), in Chromium against a live server:
counts that keep the caller's doing apart, charts over time, samples, readable
descriptions and results, why a job failed, its input, a re-run, and snippets that run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
from live_server import LiveServer
from playwright.sync_api import Page, expect

from dashboard.dashboard_browser import QR_TEXT, qr_png

VENV_BIN = Path(sys.executable).parent
#: True once the image the selector finds now has loaded and decoded.
LOADED_IMAGE = (
    "s => { const i = document.querySelector(s); return !!i && i.complete && i.naturalWidth > 0; }"
)


def _health(server: LiveServer, plugin: str) -> dict:
    return httpx.get(f"{server.url}/v1/plugins/{plugin}/health").json()  # type: ignore[no-any-return]


def test_overview_counts_failures_apart_and_charts_calls(page: Page, server: LiveServer) -> None:
    assert httpx.post(f"{server.url}/v1/analyze", json={"plugin": "echo", "args": {}}).is_success
    refused = httpx.post(f"{server.url}/v1/analyze", json={"plugin": "echo", "args": {"text": 5}})
    assert refused.status_code == 400
    assert httpx.post(f"{server.url}/v1/analyze", json={"plugin": "raises"}).status_code == 500
    echo, raises = _health(server, "echo"), _health(server, "raises")
    assert echo["invalid_input_count"] >= 1 and raises["failure_count"] >= 1

    page.goto("/")
    echo_card = page.locator(".plugin-card[data-plugin='echo']")
    failed = echo_card.locator(".metrics div", has_text="Failed").locator("dd")
    expect(failed).to_have_text(str(echo["failure_count"]))
    expect(echo_card.locator(".plugin-notes")).to_contain_text(
        f"{echo['invalid_input_count']} refused input"
    )
    raises_failed = page.locator(".plugin-card[data-plugin='raises'] .metrics dd.err")
    expect(raises_failed).to_have_text(str(raises["failure_count"]))
    expect(page.locator("#stat-errors")).to_contain_text("failed")
    expect(page.locator("#stat-errors")).to_contain_text("refused input")
    # Charts over time: one series per plugin that was called, in each chart.
    for chart in ("#chart-calls", "#chart-failed", "#chart-latency"):
        expect(page.locator(f"{chart} svg [data-series='echo']")).to_have_count(1)
    drawn = page.locator("#chart-failed svg [data-series='raises'] :is(polyline, circle)")
    expect(drawn).not_to_have_count(0)
    expect(page.locator(".chart-legend li[data-series='raises']")).to_be_visible()


def test_try_a_sample_and_read_a_markdown_description(page: Page) -> None:
    page.goto("/ui/try?plugin=barcode&tool=formats")
    description = page.locator("#tool-description")
    expect(description.locator("code")).to_have_text("formats")
    expect(description).not_to_contain_text("`")

    page.goto("/ui/try?plugin=barcode&tool=read")
    expect(page.locator("#tool-select")).to_have_value("read")
    page.click("#samples [data-name='qr.png']")
    expect(page.locator("#file-name")).to_contain_text("qr.png")
    page.click("#run-button")
    expect(page.locator(".findings li[data-kind='barcodes']")).to_contain_text(
        "https://example.org/visor"
    )


def test_a_cancelled_job_on_the_try_page_says_cancelled(page: Page) -> None:
    page.goto("/ui/try?plugin=echo&tool=sleep")
    expect(page.locator("#tool-select")).to_have_value("sleep")
    page.fill("#opt-seconds", "60")
    page.fill("#opt-steps", "600")
    page.click("#job-button")
    page.click("#job-cancel")
    expect(page.locator("#result-status")).to_have_text("Cancelled.")
    expect(page.locator(".envelope .badge")).to_have_class(re.compile(r"\bwarn\b"))


def test_jobs_say_why_they_failed_and_show_their_input(page: Page, server: LiveServer) -> None:
    failed = httpx.post(f"{server.url}/v1/jobs?wait=30", json={"plugin": "raises"}).json()
    assert failed["status"] == "FAILED"
    qr = httpx.post(
        f"{server.url}/v1/jobs?wait=30",
        data={"plugin": "barcode", "tool": "read"},
        files={"file": ("qr.png", qr_png(), "image/png")},
    ).json()
    assert qr["status"] == "SUCCESS"
    page.goto("/ui/jobs")
    failed_row = page.locator(f"tr[data-job='{failed['id']}']")
    expect(failed_row.locator(".job-why")).to_contain_text("tool_error: ")
    expect(failed_row.locator(".job-why")).to_contain_text("boom")
    expect(page.locator(f"tr[data-job='{qr['id']}'] .job-input-name")).to_have_text(
        "input: PNG image"
    )
    thumb = f"tr[data-job='{qr['id']}'] img.job-thumb"
    expect(page.locator(thumb)).to_be_visible()
    page.wait_for_function(LOADED_IMAGE, arg=thumb)  # the rows are re-rendered: ask anew

    page.goto(f"/ui/jobs/{qr['id']}")
    expect(page.locator("#input-card")).to_be_visible()
    page.wait_for_function(LOADED_IMAGE, arg="#job-image")
    expect(page.locator("#job-overlay g[data-kind='barcodes'] polygon")).to_have_count(1)
    page.click("#rerun-button")
    expect(page).not_to_have_url(re.compile(re.escape(qr["id"])))
    expect(page.locator("body")).to_have_attribute("data-status", "SUCCESS")
    expect(page.locator("#job-result")).to_contain_text(QR_TEXT)


def test_a_result_with_text_is_shown_as_text(page: Page, server: LiveServer) -> None:
    job = httpx.post(
        f"{server.url}/v1/jobs?wait=30",
        json={"plugin": "echo", "tool": "echo", "args": {"text": 'line one\n"line" two'}},
    ).json()
    page.goto(f"/ui/jobs/{job['id']}")
    expect(page.locator("#job-text")).to_have_text('line one\n"line" two')


def test_copy_as_snippets_run_as_written(page: Page, server: LiveServer, tmp_path: Path) -> None:
    page.goto("/ui/plugins/barcode")
    card = page.locator("article[data-tool='read']")
    card.locator(".snippets summary").click()
    code = card.locator(".snippet-code")
    expect(code).to_contain_text("/v1/plugins/barcode/tools/read/run")
    curl = code.inner_text()
    card.locator(".snippet-tabs [data-lang='python']").click()
    expect(code).to_contain_text('visor.analyze("barcode", "image.png", tool="read"')
    python = code.inner_text()
    card.locator(".snippet-tabs [data-lang='cli']").click()
    expect(code).to_contain_text("visor run barcode.read image.png")

    (tmp_path / "image.png").write_bytes(qr_png("snippet"))
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    ran = subprocess.run(
        ["bash", "-c", curl], cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env
    )
    assert ran.returncode == 0 and '"text":"snippet"' in ran.stdout.replace(" ", ""), ran
    ran = subprocess.run(
        [sys.executable, "-c", python], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0 and "snippet" in ran.stdout, ran
