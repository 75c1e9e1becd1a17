"""Video jobs over REST with the real built-in tools: the summary finds what the test put in
the video at the times it put it there; the job lives in /v1/jobs like any other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import videos
from fastapi.testclient import TestClient
from video_helpers import finished, submit, upload
from waiting import wait_until


def values(result: dict[str, Any]) -> dict[str, tuple[float, float]]:
    return {v["text"]: (v["first_s"], v["last_s"]) for v in result["summary"]["values"]}


def test_barcodes_are_found_at_their_times(video_client: TestClient, scripted_mp4: Path) -> None:
    ref = upload(video_client, scripted_mp4)
    job = submit(video_client, video_ref=ref, plugin="barcode", sample={"fps": 2})
    assert (job["plugin"], job["tool"], job["status"]) == ("video", "barcode.read", "PENDING")
    done = finished(video_client, job["id"])
    assert done["status"] == "SUCCESS", done["error"]
    result = done["result"]
    assert result["video"]["width"] == 640 and result["video"]["height"] == 480
    assert result["video"]["duration_s"] == pytest.approx(videos.DURATION_S, abs=0.2)
    assert result["video"]["frames_sampled"] == 12
    assert [f["t_s"] for f in result["frames"]] == pytest.approx([k / 2 for k in range(12)])
    assert values(result) == {"VISOR-A": (0.0, 1.5), "VISOR-B": (3.0, 4.5)}
    series = result["summary"]["counts"]["barcodes"]
    assert (series["min"], series["max"]) == (0, 1)
    assert series["series"] == [[0.0, 1], [2.0, 0], [3.0, 1], [5.0, 0]]
    assert result["video"]["incomplete"] is False
    assert result["video"]["decoded_to_s"] == pytest.approx(videos.DURATION_S - 0.1, abs=0.05)
    assert done["progress"] == 1.0
    assert done["progress_message"] == "frames 12/12"  # the last report always lands
    # The /v1/analyze-shaped result route serves it like any job's.
    answer = video_client.get(f"/v1/jobs/{job['id']}/result").json()
    assert answer["plugin"] == "video" and answer["result"]["summary"] == result["summary"]


@pytest.mark.parametrize("suffix", ["webm", "mkv"])
def test_a_cut_off_webm_or_mkv_succeeds_and_says_it_is_incomplete(
    video_client: TestClient, scripted_webm: Path, video_dir: Path, suffix: str
) -> None:
    """A WebM or MKV cut off in transfer keeps its header (with the full duration) and
    decodes cleanly up to the cut: the job gives what is there and flags the file short."""
    source = scripted_webm
    if suffix == "mkv":
        source = videos.scripted_video(video_dir / "scripted-cut-source.mkv", container="matroska")
    data = source.read_bytes()
    cut = video_dir / f"cut.{suffix}"
    cut.write_bytes(data[: len(data) // 2])
    done = finished(video_client, submit(video_client, video_ref=upload(video_client, cut),
                                         plugin="barcode", sample={"fps": 2})["id"])  # fmt: skip
    assert done["status"] == "SUCCESS", done["error"]
    video = done["result"]["video"]
    assert video["duration_s"] == pytest.approx(videos.DURATION_S, abs=0.2)
    assert video["incomplete"] is True
    assert 0 < video["decoded_to_s"] < videos.DURATION_S - 1
    assert 0 < video["frames_sampled"] < 12

    ended_by_rule = finished(video_client, submit(video_client, video_ref=upload(video_client, cut),
                             plugin="barcode", sample={"fps": 4, "end_s": 0.5})["id"])  # fmt: skip
    assert ended_by_rule["result"]["video"]["incomplete"] is False  # the rule stopped it


def test_face_count_over_time(video_client: TestClient, scripted_webm: Path) -> None:
    """Multipart upload of a WebM (VP9); every 5th frame (2 per second at 10 fps)."""
    with scripted_webm.open("rb") as fh:
        response = video_client.post(
            "/v1/video/jobs",
            data={"plugin": "faces", "sample": '{"every_n_frames": 5}'},
            files={"file": ("clip.webm", fh, "video/webm")},
        )
    assert response.status_code == 202, response.text
    done = finished(video_client, response.json()["id"])
    assert done["status"] == "SUCCESS", done["error"]
    assert done["tool"] == "faces.detect"
    faces = done["result"]["summary"]["counts"]["faces"]
    assert (faces["min"], faces["max"]) == (0, 1)
    assert faces["series"] == [[0.0, 0], [1.0, 1], [4.0, 0]]


def test_a_time_range_and_a_pipeline(video_client: TestClient, scripted_mp4: Path) -> None:
    spec = {
        "name": "codes-and-faces",
        "steps": [{"id": "codes", "tool": "barcode.read"}, {"id": "faces", "tool": "faces.detect"}],
    }
    assert video_client.post("/v1/pipelines", json=spec).status_code == 201
    ref = upload(video_client, scripted_mp4)
    job = submit(
        video_client,
        video_ref=ref,
        pipeline="codes-and-faces",
        sample={"fps": 1, "start_s": 2.5, "end_s": 5.5},
    )
    assert job["tool"] == "pipeline.codes-and-faces"
    # Deleting the pipeline after submit changes nothing: its spec was pinned.
    assert video_client.delete("/v1/pipelines/codes-and-faces").status_code == 200
    done = finished(video_client, job["id"])
    assert done["status"] == "SUCCESS", done["error"]
    result = done["result"]
    assert [f["t_s"] for f in result["frames"]] == pytest.approx([2.5, 3.5, 4.5])
    assert values(result) == {"VISOR-B": (3.5, 4.5)}
    counts = result["summary"]["counts"]
    assert counts["steps.faces.faces"]["series"] == [[2.5, 1], [4.5, 0]]
    assert counts["steps.codes.barcodes"]["series"] == [[2.5, 0], [3.5, 1]]


def test_frames_the_tool_fails_on_are_recorded_and_the_job_goes_on(
    video_client: TestClient, scripted_mp4: Path
) -> None:
    ref = upload(video_client, scripted_mp4)
    done = finished(
        video_client, submit(video_client, video_ref=ref, plugin="raises", sample={"fps": 1})["id"]
    )
    assert done["status"] == "SUCCESS"
    frames = done["result"]["frames"]
    assert len(frames) == 6
    assert all(f["error"]["details"]["code"] == "tool_error" for f in frames)
    assert done["result"]["summary"]["frames_failed"] == 6
    assert done["result"]["summary"]["errors"] == {"tool_error": 6}


def test_cancel_stops_a_running_video(video_client: TestClient, video_dir: Path) -> None:
    long_video = videos.plain_video(video_dir / "cancel.mp4", seconds=40, fps=30)
    ref = upload(video_client, long_video)
    job = submit(video_client, video_ref=ref, plugin="image_info", sample={"every_n_frames": 1})
    wait_until(
        lambda: (video_client.get(f"/v1/jobs/{job['id']}").json()["progress"] or 0) > 0,
        "the video job to report progress",
        timeout_s=60,
    )
    cancelled = video_client.delete(f"/v1/jobs/{job['id']}")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    wait_until(
        lambda: job["id"] not in video_client.app.state.job_service.dispatcher.running(),
        "the cancelled video job to stop decoding",
    )
    # Its checkpoints are swept by the next video job; the server goes on working.
    ref2 = upload(video_client, video_dir / "scripted.mp4")
    after = finished(
        video_client,
        submit(video_client, video_ref=ref2, plugin="barcode", sample={"fps": 1})["id"],
    )
    assert after["status"] == "SUCCESS"
    assert video_client.app.state.video_service.checkpoints.load(job["id"]) == []


def test_events_carry_progress_as_frames_done(video_client: TestClient, scripted_mp4: Path) -> None:
    ref = upload(video_client, scripted_mp4)
    job = submit(video_client, video_ref=ref, plugin="image_info", sample={"every_n_frames": 1})
    with video_client.stream("GET", f"/v1/jobs/{job['id']}/events") as stream:
        messages = [line for line in stream.iter_lines() if line.startswith("data:")]
    finished(video_client, job["id"])
    import json

    jobs = [json.loads(m[5:]) for m in messages]
    progress = [j["progress_message"] for j in jobs if j["progress_message"]]
    assert progress and all(m.startswith("frames ") for m in progress)
    assert progress[-1].endswith("/60") or jobs[-1]["status"] == "SUCCESS"
    assert jobs[-1]["status"] == "SUCCESS"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"plugin": "nope"}, 404, "plugin_not_found"),
        ({"plugin": "barcode", "tool": "nope"}, 404, "tool_not_found"),
        ({"plugin": "echo", "tool": "echo"}, 400, "invalid_input"),  # takes no image
        ({"plugin": "barcode", "args": {"max_results": 0}}, 400, "invalid_input"),
        ({"plugin": "barcode", "args": {"image_ref": "x"}}, 400, "invalid_input"),
        ({"plugin": "barcode", "pipeline": "p"}, 400, "invalid_input"),
        ({"plugin": "barcode", "sample": {"fps": 1, "every_n_frames": 2}}, 400, "invalid_input"),
        ({"plugin": "barcode", "sample": {"start_s": 5, "end_s": 2}}, 400, "invalid_input"),
        ({"pipeline": "not-saved"}, 404, None),
    ],
)
def test_submit_refuses_what_can_never_run(
    video_client: TestClient,
    scripted_mp4: Path,
    body: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    ref = upload(video_client, scripted_mp4)
    response = video_client.post("/v1/video/jobs", json={"video_ref": ref, **body})
    assert response.status_code == status, response.text
    if code is not None:
        assert response.json()["error"]["details"]["code"] == code


def test_a_video_needs_a_video(video_client: TestClient) -> None:
    response = video_client.post("/v1/video/jobs", json={"plugin": "barcode"})
    assert response.status_code == 400
    assert "video_ref" in response.json()["error"]["message"]
    missing = video_client.post("/v1/video/jobs", json={"plugin": "barcode", "video_ref": "0" * 32})
    assert missing.status_code == 404


def test_a_video_file_is_not_an_image(video_client: TestClient, scripted_mp4: Path) -> None:
    """An uploaded video is never read whole as an image_ref (it may be gigabytes)."""
    ref = upload(video_client, scripted_mp4)
    response = video_client.post("/v1/analyze", json={"plugin": "barcode", "image_ref": ref})
    assert response.status_code == 400
    assert "video job" in response.json()["error"]["message"]


def test_the_video_is_pinned_when_submitted(video_client: TestClient, scripted_mp4: Path) -> None:
    """Deleting the uploaded file after the 202 does not fail the job."""
    ref = upload(video_client, scripted_mp4)
    job = submit(video_client, video_ref=ref, plugin="barcode", sample={"fps": 1})
    assert video_client.delete(f"/v1/files/{ref}").status_code == 200
    assert finished(video_client, job["id"])["status"] == "SUCCESS"


def test_the_frame_list_is_optional_and_bounded(make_client: Any, scripted_mp4: Path) -> None:
    from helpers import builtin_sources

    client: TestClient = make_client(builtin_sources("barcode"), max_result_bytes=2000)
    ref = upload(client, scripted_mp4)
    bounded = finished(
        client, submit(client, video_ref=ref, plugin="barcode", sample={"fps": 2})["id"]
    )
    video = bounded["result"]["video"]
    assert video["frames_sampled"] == 12
    assert 0 < video["frames_listed"] == len(bounded["result"]["frames"]) < 12
    assert values(bounded["result"]) == {"VISOR-A": (0.0, 1.5), "VISOR-B": (3.0, 4.5)}

    summary_only = finished(
        client,
        submit(client, video_ref=ref, plugin="barcode", sample={"fps": 2}, frames=False)["id"],
    )
    assert summary_only["result"]["frames"] == []
    assert summary_only["result"]["summary"] == bounded["result"]["summary"]
