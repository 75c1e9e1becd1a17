"""Video jobs in Chromium, on the real server with the real barcode tool and samples/codes.mp4
(4 s, VISOR-A for 0-2 s, VISOR-B for 2-4 s): submitted from the try page and followed live,
the result's values table, count chart and frames on the try page, the job page and the job
list; a PNG renamed .mp4 ends FAILED with its envelope; a read key cannot submit; a result
of thousands of frames is paged, not built at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live_server import LiveServer
from playwright.sync_api import Page, expect

from dashboard.dashboard_browser import RequestLog, qr_png

CODES_MP4 = Path(__file__).resolve().parents[3] / "samples" / "codes.mp4"
#: Slower than the tool alone (a sleep before each frame's barcode step): progress is seen.
SLOW_CODES = {
    "name": "slow-codes",
    "description": "Wait, then read the codes.",
    "steps": [
        {"id": "wait", "tool": "echo.sleep", "args": {"seconds": 0.25}},
        {"id": "codes", "tool": "barcode.read"},
    ],
}


@pytest.fixture(scope="module", autouse=True)
def slow_pipeline(server: LiveServer) -> Iterator[None]:
    httpx.post(f"{server.url}/v1/pipelines", json=SLOW_CODES, timeout=30).raise_for_status()
    yield
    httpx.delete(f"{server.url}/v1/pipelines/{SLOW_CODES['name']}", timeout=30)


def choose_video(page: Page, plugin: str, tool: str, name: str = "codes.mp4") -> None:
    page.goto(f"/ui/try?plugin={plugin}&tool={tool}")
    expect(page.locator("#tool-select")).to_have_value(tool)
    data = CODES_MP4.read_bytes() if name == "codes.mp4" else qr_png()
    page.set_input_files(
        "#file-input", files=[{"name": name, "mimeType": "video/mp4", "buffer": data}]
    )
    expect(page.locator("#video-options")).to_be_visible()
    expect(page.locator("#run-button")).to_be_disabled()  # no synchronous video run
    expect(page.locator("#job-button")).to_have_text("Run as video job")


def submit(page: Page) -> str:
    page.click("#job-button")
    line = page.locator(".job-line")
    expect(line).to_have_count(1)
    job_id = line.get_attribute("data-job")
    assert job_id
    return job_id


DASH = "\N{EN DASH}"


def expect_both_codes(page: Page) -> None:
    values = page.locator("#video-values tbody tr")
    expect(values).to_have_count(2)
    a, b = values.nth(0), values.nth(1)
    expect(a).to_have_attribute("data-text", "VISOR-A")
    expect(a.locator("td")).to_have_text(["VISOR-A", "QRCode", f"0 s {DASH} 1.6 s", "4"])
    expect(b).to_have_attribute("data-text", "VISOR-B")
    expect(b.locator("td")).to_have_text(["VISOR-B", "QRCode", f"2 s {DASH} 3.6 s", "4"])


def test_a_video_from_the_try_page_runs_as_a_job_with_its_summary(
    page: Page, server: LiveServer, requests_seen: RequestLog
) -> None:
    choose_video(page, "barcode", "read")
    expect(page.locator("#sample-value")).to_have_value("2")  # 2 frames a second
    job_id = submit(page)
    line = page.locator(".job-line")
    expect(line).to_have_attribute("data-status", "SUCCESS")
    expect(line.locator(".job-target")).to_have_text("video · barcode.read")
    expect(line.locator(".progress-message")).to_have_text("frames 8/8")
    expect(line.locator("[role='progressbar']")).to_have_attribute("aria-valuenow", "100")
    expect_both_codes(page)
    expect(page.locator("#frames-ok")).to_have_attribute("data-n", "8")
    expect(page.locator("#frames-failed")).to_have_attribute("data-n", "0")
    chart = page.locator("#video-counts figure[data-count='barcodes'] svg.step-chart")
    expect(chart).to_have_count(1)
    expect(chart.locator("path.step")).to_have_count(1)
    rows = page.locator("#video-frames tbody tr.frame-row")
    expect(rows).to_have_count(8)
    expect(rows.nth(5)).to_contain_text("barcodes 1: VISOR-B")
    rows.nth(5).click()
    expect(page.locator("#frame-json")).to_contain_text('"text": "VISOR-B"')
    expect(page.locator("#frame-json")).to_contain_text('"index": 5')
    # The chosen frame is drawn over the video preview, from the same vocabulary.
    expect(page.locator("#overlay g[data-kind='barcodes'] polygon")).to_have_count(1)

    job = httpx.get(f"{server.url}/v1/jobs/{job_id}").json()
    assert (job["plugin"], job["tool"], job["status"]) == ("video", "barcode.read", "SUCCESS")
    assert job["result"]["video"]["sample"]["fps"] == 2
    assert any(u.endswith("/v1/video/jobs") for u in requests_seen.urls)
    assert any(f"/v1/jobs/{job_id}/events" in u for u in requests_seen.urls)
    assert requests_seen.foreign() == []

    # The job page: the summary first, the frames, a frame's JSON and the raw JSON.
    page.goto(f"/ui/jobs/{job_id}")
    expect(page.locator("#job-status .badge")).to_have_text("SUCCESS")
    expect(page.locator("#job-target")).to_have_text("video · barcode.read")
    expect(page.locator("#job-progress .progress-message")).to_have_text("frames 8/8")
    expect(page.locator("#video-card")).to_be_visible()
    expect_both_codes(page)
    expect(page.locator("#video-counts svg.step-chart path.step")).to_have_count(1)
    page.locator("#video-frames tr.frame-row[data-index='1']").click()
    expect(page.locator("#frame-json")).to_contain_text('"text": "VISOR-A"')
    page.click("#video-result .raw-json summary")
    expect(page.locator("#job-result")).to_contain_text('"frames_sampled": 8')

    # The job list: the target and the frame count.
    page.goto("/ui/jobs?plugin=video")
    row = page.locator(f"#jobs-table tr[data-job='{job_id}']")
    expect(row.locator(".job-target")).to_contain_text("video · barcode.read")
    expect(row.locator(".job-progress-text")).to_have_text("frames 8/8")
    expect(page.locator("select[name='plugin']")).to_have_value("video")
    assert requests_seen.foreign() == []


def test_a_pipeline_over_a_time_range_shows_live_progress_and_the_summary_only(
    page: Page, server: LiveServer
) -> None:
    choose_video(page, "pipeline", SLOW_CODES["name"])
    page.select_option("#sample-mode", "every_n_frames")
    page.fill("#sample-value", "1")  # every frame: 5 a second
    page.fill("#sample-start", "2")
    page.uncheck("#sample-frames")  # the summary only
    job_id = submit(page)
    running = page.locator(".job-line[data-status='RUNNING']")
    expect(running.locator("[role='progressbar']")).not_to_have_attribute("aria-valuenow", "0")
    expect(running.locator(".progress-message")).to_contain_text("frames ")
    expect(page.locator(".job-line")).to_have_attribute("data-status", "SUCCESS")
    expect(page.locator(".job-line .job-target")).to_have_text("video · pipeline.slow-codes")
    values = page.locator("#video-values tbody tr")
    expect(values).to_have_count(1)  # from 2 s on: only VISOR-B
    expect(values.first).to_have_attribute("data-text", "VISOR-B")
    expect(page.locator("#video-counts figure[data-count='steps.codes.barcodes']")).to_have_count(1)
    expect(page.locator("#frames-note")).to_contain_text("summary only")
    expect(page.locator("#video-frames")).to_have_count(0)
    video = httpx.get(f"{server.url}/v1/jobs/{job_id}").json()["result"]["video"]
    assert video["sample"] == {"every_n_frames": 1, "start_s": 2.0}
    assert (video["frames_sampled"], video["frames_listed"]) == (10, 0)


def test_a_png_renamed_mp4_is_refused_at_submit_with_the_invalid_input_envelope(
    page: Page,
) -> None:
    """The server reads the first bytes at submit: no job is made for an image."""
    choose_video(page, "barcode", "read", name="clip.mp4")
    page.click("#job-button")
    envelope = page.locator("#error-panel .envelope")
    expect(envelope).to_have_attribute("data-type", "ValidationError")
    expect(envelope).to_have_attribute("data-code", "invalid_input")
    expect(envelope).to_contain_text("not a video")
    expect(envelope.locator("pre")).not_to_contain_text("Traceback")
    expect(page.locator(".job-line")).to_have_count(0)
    expect(page.locator("#video-result")).to_have_count(0)


def test_invalid_sampling_is_refused_before_submitting(page: Page) -> None:
    choose_video(page, "barcode", "read")
    page.fill("#sample-start", "3")
    page.fill("#sample-end", "1")
    page.click("#job-button")
    envelope = page.locator("#error-panel .envelope")
    expect(envelope).to_contain_text("the end must be after the start")
    expect(page.locator(".job-line")).to_have_count(0)


def test_thousands_of_frames_are_paged(page: Page) -> None:
    """A 5,000-frame result renders one page of rows; the pager walks it."""
    page.goto("/ui/try?plugin=barcode&tool=read")
    expect(page.locator("#tool-select")).to_have_value("read")
    built = page.evaluate(
        """async () => {
            const { videoResultView } = await import('/ui/static/js/lib/video.js');
            const frames = Array.from({length: 5000}, (_, i) => ({index: i, t_s: i / 10,
                result: {width: 64, height: 48, barcodes: i % 2 ? [] : [
                    {text: 'X', format: 'QRCode', box: [1, 2, 3, 4]}]}}));
            const result = {video: {duration_s: 500, width: 64, height: 48, sample: {fps: 10}},
                target: {plugin: 'barcode', tool: 'read'}, frames,
                summary: {frames_ok: 5000, frames_failed: 0, errors: {},
                          values: [{text: 'X', format: 'QRCode', first_s: 0, last_s: 499.8,
                                    frames: 2500}],
                          counts: {barcodes: {min: 0, max: 1,
                                   series: frames.map(f => [f.t_s, f.index % 2 ? 0 : 1])}}}};
            const view = videoResultView(result, {rawId: 'big-raw'});
            document.querySelector('#video-panel').replaceChildren(view);
            return document.querySelectorAll('#video-frames tr.frame-row').length;
        }"""
    )
    assert built == 50
    expect(page.locator("#frames-page")).to_have_text("5,000 frames · page 1 of 100")
    expect(page.locator("#big-raw")).to_be_empty()  # the raw JSON waits until it is opened
    page.click("#frames-next")
    expect(page.locator("#video-frames tr.frame-row").first).to_have_attribute("data-index", "50")
    expect(page.locator("#frames-prev")).to_be_enabled()


def test_a_file_that_ends_early_says_so(page: Page) -> None:
    """A cut-off WebM's job succeeds on the frames there are; the view says the file is
    short, and a complete file's view says nothing."""
    page.goto("/ui/try?plugin=barcode&tool=read")
    expect(page.locator("#tool-select")).to_have_value("read")
    render = """async (incomplete) => {
        const { videoResultView } = await import('/ui/static/js/lib/video.js');
        const result = {video: {duration_s: 6, decoded_to_s: 0.9, incomplete, width: 64,
            height: 48, sample: {fps: 2}}, target: {plugin: 'barcode', tool: 'read'},
            frames: [], summary: {frames_ok: 2, frames_failed: 0, errors: {}, values: [],
            counts: {}}};
        document.querySelector('#video-panel').replaceChildren(videoResultView(result, {}));
    }"""
    page.evaluate(render, True)
    expect(page.locator("#video-incomplete")).to_contain_text("frames stop at 0.9 s of 6 s")
    page.evaluate(render, False)
    expect(page.locator("#video-incomplete")).to_have_count(0)


def test_the_video_views_fit_a_phone(page: Page, server: LiveServer) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    choose_video(page, "barcode", "read")
    job_id = submit(page)
    expect(page.locator("#video-values tbody tr")).to_have_count(2)
    for path in ("/ui/try", f"/ui/jobs/{job_id}", "/ui/jobs?plugin=video"):
        if path != "/ui/try":
            page.goto(path)
            expect(page.locator("#video-values, #jobs-table tbody tr").first).to_be_attached()
        if path.startswith("/ui/jobs?"):
            expect(page.locator(f"tr[data-job='{job_id}'] .job-frames")).to_have_text("frames 8/8")
        scroll, client = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert scroll <= client, f"{path} at 390px: {scroll}px wide in a {client}px window"


def test_a_video_job_is_cancelled_from_the_try_page(page: Page, server: LiveServer) -> None:
    choose_video(page, "pipeline", SLOW_CODES["name"])
    page.select_option("#sample-mode", "every_n_frames")
    page.fill("#sample-value", "1")  # 20 frames, a quarter second each
    job_id = submit(page)
    running = page.locator(".job-line[data-status='RUNNING']")
    expect(running.locator(".progress-message")).to_contain_text("frames ")
    page.click("#job-cancel")
    expect(page.locator(".job-line")).to_have_attribute("data-status", "CANCELLED")
    expect(page.locator("#error-panel .envelope")).to_have_attribute("data-code", "cancelled")
    assert httpx.get(f"{server.url}/v1/jobs/{job_id}").json()["status"] == "CANCELLED"
    page.goto("/")  # the overview's latest jobs name the target the same way
    row = page.locator(f"#recent-jobs tr[data-job='{job_id}']")
    expect(row).to_contain_text("video · pipeline.slow-codes")
