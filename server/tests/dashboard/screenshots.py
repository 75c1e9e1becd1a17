"""Take the dashboard screenshots shown in docs/dashboard.md (PNG, into docs/img/).

    .venv/bin/python server/tests/dashboard/screenshots.py [OUTPUT_DIR]

It starts the same live server the browser tests use, does some real work through the
pages (a face, a QR code, a failing call, jobs) and photographs each page at 1280 px, and
the overview and the try page at 390 px (a phone). Then, so the shots above stay as they
were, a video job on samples/codes.mp4 (try page, job page, job list), a saved pipeline on
the try page and the live camera (Chromium's fake camera).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import httpx  # noqa: E402
import live_server  # noqa: E402
from dashboard_browser import (  # noqa: E402
    LAUNCH_ARGS,
    astronaut_png,
    chromium_path,
    dashboard_server,
    qr_png,
)
from pipeline_specs import FACE_COLOURS  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

live_server._START_TIMEOUT_S = 300.0  # a busy machine may take long to boot the workers

DEFAULT_OUT = HERE.parents[2] / "docs" / "img"
CODES_MP4 = HERE.parents[2] / "samples" / "codes.mp4"


def try_tool(page: Page, plugin: str, tool: str, image: tuple[str, bytes] | None) -> None:
    page.goto(f"/ui/try?plugin={plugin}&tool={tool}")
    page.wait_for_selector(f"#tool-select option[value='{tool}']", state="attached")
    if image is not None:
        name, data = image
        page.set_input_files(
            "#file-input", files=[{"name": name, "mimeType": "image/png", "buffer": data}]
        )
    page.click("#run-button")
    page.wait_for_selector("#json-box:not([hidden]), .envelope")


def shoot_video_pipeline_and_live(page: Page, base_url: str, out: Path) -> None:
    """The views added after the first set: video jobs, pipelines, the live camera."""
    page.goto("/ui/try?plugin=barcode&tool=read")
    page.wait_for_selector("#tool-select option[value='read']", state="attached")
    page.set_input_files(
        "#file-input",
        files=[{"name": "codes.mp4", "mimeType": "video/mp4", "buffer": CODES_MP4.read_bytes()}],
    )
    page.click("#job-button")
    page.wait_for_selector(".job-line[data-status='SUCCESS']")
    page.wait_for_selector("#video-values")
    page.click("#video-frames tr.frame-row[data-index='5']")
    page.wait_for_selector("#overlay polygon")
    page.screenshot(path=out / "dashboard-try-video.png", full_page=True)
    job_id = page.get_attribute(".job-line", "data-job")

    page.goto(f"/ui/jobs/{job_id}")
    page.wait_for_selector("#video-values")
    page.click("#video-frames tr.frame-row[data-index='3']")
    page.screenshot(path=out / "dashboard-job-video.png", full_page=True)
    page.goto("/ui/jobs?plugin=video")
    page.wait_for_selector(f"#jobs-table tr[data-job='{job_id}']")
    page.screenshot(path=out / "dashboard-jobs-video.png", full_page=True)

    httpx.post(f"{base_url}/v1/pipelines", json=FACE_COLOURS, timeout=30).raise_for_status()
    try_tool(page, "pipeline", "face-colours", ("astronaut.png", astronaut_png()))
    page.screenshot(path=out / "dashboard-try-pipeline.png", full_page=True)

    page.goto("/ui/live?target=image_info.describe")
    page.wait_for_selector("#live-target option[value='image_info.describe']", state="attached")
    page.click("#live-start")  # Chromium's fake camera: a moving test pattern
    page.wait_for_function(
        "() => Number(document.querySelector('#live-answered').textContent) >= 5"
    )
    page.screenshot(path=out / "dashboard-live.png", full_page=True)
    page.click("#live-stop")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = dashboard_server(Path(tmp) / "data").start()
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium_path(), args=LAUNCH_ARGS)
                context = browser.new_context(
                    base_url=server.url,
                    viewport={"width": 1280, "height": 860},
                    device_scale_factor=1,
                    color_scheme="light",
                )
                page = context.new_page()

                try_tool(page, "barcode", "read", ("qr.png", qr_png()))
                page.screenshot(path=out / "dashboard-try-barcode.png", full_page=True)
                try_tool(page, "image_info", "describe", ("astronaut.png", astronaut_png()))
                page.screenshot(path=out / "dashboard-try-image-info.png", full_page=True)
                try_tool(page, "image_info", "describe", ("notes.txt", b"not an image at all"))
                page.screenshot(path=out / "dashboard-try-error.png", full_page=True)
                try_tool(page, "faces", "detect", ("astronaut.png", astronaut_png()))
                page.screenshot(path=out / "dashboard-try-faces.png", full_page=True)

                # Jobs: one finished, one cancelled, one still running while we look.
                for seconds, steps in ((1, 4), (60, 60), (40, 80)):
                    page.goto("/ui/try?plugin=echo&tool=sleep")
                    page.fill("#opt-seconds", str(seconds))
                    page.fill("#opt-steps", str(steps))
                    page.click("#job-button")
                    page.wait_for_selector(
                        ".job-line[data-status='RUNNING'], .job-line[data-status='SUCCESS']"
                    )
                    if seconds == 60:
                        page.click("#job-cancel")
                        page.wait_for_selector(".job-line[data-status='CANCELLED']")
                    if seconds == 1:
                        page.wait_for_selector(".job-line[data-status='SUCCESS']")
                running = page.get_attribute(".job-line", "data-job")
                page.wait_for_selector("[role=progressbar]:not([aria-valuenow='0'])")
                page.screenshot(path=out / "dashboard-try-job.png", full_page=True)

                page.goto(f"/ui/jobs/{running}")
                page.wait_for_selector(".progress")
                page.screenshot(path=out / "dashboard-job.png", full_page=True)
                page.goto("/ui/jobs")
                page.wait_for_selector("#jobs-table tbody tr[data-job]")
                page.screenshot(path=out / "dashboard-jobs.png", full_page=True)
                page.goto("/ui/plugins/faces")
                page.wait_for_selector("[data-tool='detect'] .args")
                page.screenshot(path=out / "dashboard-plugin.png", full_page=True)
                page.goto("/")
                page.wait_for_selector(".plugin-card[data-plugin='faces']")
                page.wait_for_selector("#recent-jobs tbody tr[data-job]")
                page.screenshot(path=out / "dashboard-overview.png", full_page=True)
                page.goto("/docs")
                page.wait_for_selector(".opblock-tag")
                page.screenshot(path=out / "dashboard-docs.png")

                phone = browser.new_context(
                    base_url=server.url,
                    viewport={"width": 390, "height": 844},
                    device_scale_factor=1,
                    is_mobile=True,
                    has_touch=True,
                )
                mobile = phone.new_page()
                mobile.goto("/")
                mobile.wait_for_selector(".plugin-card[data-plugin='faces']")
                mobile.screenshot(path=out / "dashboard-overview-phone.png", full_page=True)
                try_tool(mobile, "faces", "detect", ("astronaut.png", astronaut_png()))
                mobile.screenshot(path=out / "dashboard-try-phone.png", full_page=True)
                shoot_video_pipeline_and_live(page, server.url, out)
                browser.close()
        finally:
            server.stop()
    for path in sorted(out.glob("dashboard-*.png")):
        print(path)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
