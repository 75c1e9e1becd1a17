"""Jobs from the pages: live progress to SUCCESS, cancel to CANCELLED, the list's filters."""

from __future__ import annotations

import httpx
from live_server import LiveServer
from playwright.sync_api import Page, expect


def submit_sleep(page: Page, seconds: float, steps: int) -> str:
    page.goto("/ui/try?plugin=echo&tool=sleep")
    expect(page.locator("#tool-select")).to_have_value("sleep")
    page.fill("#opt-seconds", str(seconds))
    page.fill("#opt-steps", str(steps))
    page.click("#job-button")
    line = page.locator(".job-line")
    expect(line).to_have_count(1)
    job_id = line.get_attribute("data-job")
    assert job_id
    return job_id


def test_a_job_from_the_page_shows_progress_and_ends_success(
    page: Page, server: LiveServer
) -> None:
    job_id = submit_sleep(page, seconds=4, steps=40)
    bar = page.locator(".job-line[data-status='RUNNING'] [role='progressbar']")
    expect(bar).not_to_have_attribute("aria-valuenow", "0")  # progress arrived live
    expect(page.locator(".job-line")).to_have_attribute("data-status", "SUCCESS")
    expect(page.locator(".job-line [role='progressbar']")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#json-output")).to_contain_text('"slept": true')
    assert httpx.get(f"{server.url}/v1/jobs/{job_id}").json()["status"] == "SUCCESS"

    page.goto(f"/ui/jobs/{job_id}")
    expect(page.locator("#job-status .badge")).to_have_text("SUCCESS")
    expect(page.locator("#job-result")).to_contain_text('"slept": true')
    expect(page.locator("#timeline li.done")).to_have_count(3)
    expect(page.locator("#cancel-button")).to_be_hidden()


def test_a_job_cancelled_from_its_page_ends_cancelled(page: Page, server: LiveServer) -> None:
    job_id = submit_sleep(page, seconds=120, steps=240)
    page.goto(f"/ui/jobs/{job_id}")
    expect(page.locator("#job-status .badge")).to_have_text("RUNNING")
    expect(page.locator("[role='progressbar']")).not_to_have_attribute("aria-valuenow", "0")
    page.click("#cancel-button")
    expect(page.locator("#job-status .badge")).to_have_text("CANCELLED")
    expect(page.locator("#outcome .envelope")).to_have_attribute("data-code", "cancelled")
    expect(page.locator("#cancel-button")).to_be_hidden()
    assert httpx.get(f"{server.url}/v1/jobs/{job_id}").json()["status"] == "CANCELLED"


def test_the_job_list_filters_and_pages(page: Page, server: LiveServer) -> None:
    ids = []
    for text in ("a", "b", "c"):
        response = httpx.post(
            f"{server.url}/v1/jobs", json={"plugin": "echo", "tool": "echo", "args": {"text": text}}
        )
        assert response.status_code == 202
        ids.append(response.json()["id"])
    page.goto("/ui/jobs?plugin=echo&tool=echo&limit=10")
    rows = page.locator("#jobs-table tbody tr[data-job]")
    for job_id in ids:
        expect(page.locator(f"#jobs-table tr[data-job='{job_id}']")).to_have_attribute(
            "data-status", "SUCCESS"
        )
    page.select_option("select[name='limit']", "10")
    page.select_option("select[name='status']", "CANCELLED")
    expect(page.locator(f"#jobs-table tr[data-job='{ids[0]}']")).to_have_count(0)
    page.select_option("select[name='status']", "SUCCESS")
    expect(rows.first).to_have_attribute("data-status", "SUCCESS")
    # Paging: one per page walks back through time.
    page.goto("/ui/jobs?plugin=echo&tool=echo&limit=10")
    page.locator("select[name='limit']").select_option("10")
    page.evaluate("document.querySelector(\"select[name='limit']\").append(new Option('1', '1'))")
    page.select_option("select[name='limit']", "1")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-job", ids[2])
    page.click("#older")
    expect(rows.first).to_have_attribute("data-job", ids[1])
    expect(page.locator("#page-label")).to_have_text("Page 2")
    page.click("#newer")
    expect(rows.first).to_have_attribute("data-job", ids[2])
