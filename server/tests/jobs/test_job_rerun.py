"""A job's input stays visible and runnable again while the store keeps it: the image it
ran on (``GET /v1/jobs/{id}/image``) and a re-run (``POST /v1/jobs/{id}/rerun``)."""

from __future__ import annotations

from typing import Any

from helpers import builtin_sources, plugin_sources, png_bytes
from jobs_helpers import wait_for_status


def test_the_input_image_and_a_rerun_of_a_finished_job(make_client: Any) -> None:
    client = make_client(
        [*builtin_sources("image_info"), *plugin_sources("echo")], force_in_process=True
    )
    image = png_bytes((24, 16))
    submitted = client.post(
        "/v1/jobs",
        data={"plugin": "image_info", "tool": "describe"},
        files={"file": ("shot.png", image, "image/png")},
    )
    assert submitted.status_code == 202, submitted.text
    first = wait_for_status(client, submitted.json()["id"], "SUCCESS")
    assert first["input_mime_type"] == "image/png"
    listed = client.get("/v1/jobs", params={"results": "false"}).json()["jobs"]
    assert listed[0]["input_mime_type"] == "image/png"

    shown = client.get(f"/v1/jobs/{first['id']}/image")
    assert shown.status_code == 200 and shown.content == image
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["x-content-type-options"] == "nosniff"

    again = client.post(f"/v1/jobs/{first['id']}/rerun")
    assert again.status_code == 202, again.text
    assert again.json()["id"] != first["id"]
    assert again.headers["location"] == f"/v1/jobs/{again.json()['id']}"
    second = wait_for_status(client, again.json()["id"], "SUCCESS")
    assert (second["plugin"], second["tool"]) == ("image_info", "describe")
    assert second["result"]["width"] == first["result"]["width"] == 24

    # Without an image: no image to show, but the arguments run again.
    text = client.post("/v1/jobs", json={"plugin": "echo", "tool": "echo", "args": {"text": "hi"}})
    done = wait_for_status(client, text.json()["id"], "SUCCESS")
    assert done["input_mime_type"] is None
    missing = client.get(f"/v1/jobs/{done['id']}/image")
    assert missing.status_code == 404 and missing.json()["error"]["details"]["code"] == "not_found"
    rerun = client.post(f"/v1/jobs/{done['id']}/rerun")
    assert rerun.status_code == 202
    assert wait_for_status(client, rerun.json()["id"], "SUCCESS")["result"]["text"] == "hi"

    unknown = client.post("/v1/jobs/no-such-job/rerun")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["details"]["code"] == "job_not_found"
