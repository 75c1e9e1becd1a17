"""The frame cap holds at submit: a rule whose estimate (from the probed video) is over
VISOR_VIDEO_MAX_FRAMES is refused with 400 before any frame is processed (issue 24)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import builtin_sources
from video_helpers import finished, submit, upload


@pytest.fixture
def capped(make_client: Any) -> TestClient:
    client: TestClient = make_client(builtin_sources("image_info"), video_max_frames=5)
    return client


@pytest.mark.parametrize(
    ("sample", "estimate"),
    [({"fps": 2}, 12), ({"every_n_frames": 1, "start_s": 1.0}, 50)],
)
def test_a_rule_over_the_cap_is_refused_at_submit(
    capped: TestClient, scripted_mp4: Path, sample: dict[str, Any], estimate: int
) -> None:
    ref = upload(capped, scripted_mp4)  # 6 s at 10 fps
    body = {"video_ref": ref, "plugin": "image_info", "sample": sample}
    response = capped.post("/v1/video/jobs", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["details"]["code"] == "invalid_input"
    assert error["details"]["field"] == "sample"
    assert (error["details"]["estimate_frames"], error["details"]["limit_frames"]) == (estimate, 5)
    assert f"about {estimate} frames" in error["message"] and "limit is 5" in error["message"]
    assert capped.get("/v1/jobs").json()["jobs"] == []  # no job was made


def test_a_multipart_upload_over_the_cap_is_refused_too(
    capped: TestClient, scripted_mp4: Path
) -> None:
    with scripted_mp4.open("rb") as fh:
        response = capped.post(
            "/v1/video/jobs",
            data={"plugin": "image_info", "sample": '{"fps": 4}'},
            files={"file": ("clip.mp4", fh, "video/mp4")},
        )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"]["estimate_frames"] == 24


def test_a_rule_within_the_cap_runs(capped: TestClient, scripted_mp4: Path) -> None:
    ref = upload(capped, scripted_mp4)
    job = submit(capped, video_ref=ref, plugin="image_info", sample={"fps": 2, "end_s": 2.0})
    done = finished(capped, job["id"])
    assert done["status"] == "SUCCESS", done["error"]
    assert done["result"]["video"]["frames_sampled"] == 4
