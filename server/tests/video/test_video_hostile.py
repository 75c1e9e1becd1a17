"""Hostile videos end FAILED with invalid_input and a message a person can act on; the
server (and its dispatcher) carry on. Nothing about the file's path leaks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import videos
from fastapi.testclient import TestClient
from video_helpers import finished, submit, upload


@pytest.fixture(scope="session")
def huge_mp4(video_dir: Path) -> Path:
    """One real 8192x6400 frame (52 MP): over the 50 MP default pixel limit."""
    return videos.write_video(
        video_dir / "huge.mp4",
        lambda t: videos.Image.new("RGB", (8192, 6400)),
        seconds=0.1,
        size=(8192, 6400),
    )


HOSTILE: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    "truncated": (
        lambda d, good: videos.truncated_video(d / "truncated.mp4", good),
        "damaged or incomplete",
    ),
    "png named .mp4": (lambda d, good: videos.png_named_mp4(d / "picture.mp4"), "not a video"),
    "zero frames (mp4)": (
        lambda d, good: videos.zero_frame_video(d / "empty.mp4"),
        "no video stream",
    ),
    "zero frames (mkv)": (
        lambda d, good: videos.zero_frame_video(d / "empty.mkv", container="matroska"),
        "before its first video frame",
    ),
    "text": (lambda d, good: _write(d / "notes.mp4", b"hello, not a video\n" * 50), "not a"),
}


#: Files whose first bytes are no video container: refused at submit (issue 29).
REFUSED_AT_SUBMIT = frozenset({"png named .mp4", "text"})


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_files_fail_the_job_not_the_server(
    video_client: TestClient, scripted_mp4: Path, video_dir: Path, case: str
) -> None:
    make, words = HOSTILE[case]
    path = make(video_dir, scripted_mp4)
    with path.open("rb") as fh:  # multipart: any video container is accepted at submit
        response = video_client.post(
            "/v1/video/jobs", data={"plugin": "barcode"}, files={"file": (path.name, fh)}
        )
    if case in REFUSED_AT_SUBMIT:  # no video container at all: refused before a job exists
        assert response.status_code == 400, response.text
        error = response.json()["error"]
    else:
        assert response.status_code == 202, response.text
        done = finished(video_client, response.json()["id"])
        assert done["status"] == "FAILED"
        error = done["error"]
    assert error["type"] == "ValidationError"
    assert error["details"]["code"] == "invalid_input"
    assert words in error["message"]
    assert "job-inputs" not in error["message"] and str(video_dir) not in error["message"]
    _still_serves(video_client, scripted_mp4)


def test_a_frame_size_over_the_pixel_limit_is_refused_before_decoding(
    video_client: TestClient, scripted_mp4: Path, huge_mp4: Path
) -> None:
    ref = upload(video_client, huge_mp4)
    done = finished(video_client, submit(video_client, video_ref=ref, plugin="barcode")["id"])
    assert done["status"] == "FAILED"
    assert done["error"]["details"]["code"] == "invalid_input"
    assert done["error"]["details"]["width"] == 8192
    assert "8192x6400" in done["error"]["message"] and "limit" in done["error"]["message"]
    _still_serves(video_client, scripted_mp4)


def test_a_decoder_past_its_memory_cap_fails_the_job_with_memory_limit(
    make_client: object, scripted_mp4: Path, huge_mp4: Path
) -> None:
    """A file whose frames need more memory than the decoder may have (here: the 52 MP
    frame with the pixel limit raised, and a 160 MB cap) fails its job with memory_limit;
    the server and the next video are fine."""
    from helpers import builtin_sources

    client: TestClient = make_client(  # type: ignore[operator]
        builtin_sources("barcode"), max_image_pixels=60_000_000, video_decoder_memory_mb=160
    )
    ref = upload(client, huge_mp4)
    done = finished(client, submit(client, video_ref=ref, plugin="barcode")["id"])
    assert done["status"] == "FAILED"
    assert done["error"]["details"]["code"] == "memory_limit", done["error"]
    assert done["error"]["details"]["memory_limit_mb"] == 160
    assert "VISOR_VIDEO_DECODER_MEMORY_MB" in done["error"]["message"]
    _still_serves(client, scripted_mp4)


def test_a_start_past_the_end(video_client: TestClient, scripted_mp4: Path) -> None:
    ref = upload(video_client, scripted_mp4)
    done = finished(
        video_client,
        submit(video_client, video_ref=ref, plugin="barcode", sample={"start_s": 60})["id"],
    )
    assert done["status"] == "FAILED"
    assert "past the end" in done["error"]["message"]


def test_a_video_over_the_size_limit_is_refused_at_submit(
    make_client: object, scripted_mp4: Path
) -> None:
    from helpers import builtin_sources

    client: TestClient = make_client(  # type: ignore[operator]
        builtin_sources("barcode"), max_video_bytes=50_000
    )
    with scripted_mp4.open("rb") as fh:
        response = client.post(
            "/v1/video/jobs", data={"plugin": "barcode"}, files={"file": ("big.mp4", fh)}
        )
    assert response.status_code == 413
    assert response.json()["error"]["details"]["code"] == "payload_too_large"
    staged = list((client.app.state.settings.data_dir / "job-inputs").rglob("*"))  # type: ignore[attr-defined]
    assert not [p for p in staged if p.is_file()], "a refused upload left a file behind"


def _still_serves(client: TestClient, good: Path) -> None:
    ref = upload(client, good)
    done = finished(
        client, submit(client, video_ref=ref, plugin="barcode", sample={"fps": 1})["id"]
    )
    assert done["status"] == "SUCCESS"


def test_a_decoder_that_dies_fails_the_job_not_the_server(
    make_client: object, scripted_mp4: Path, video_dir: Path
) -> None:
    """Decoding runs in a child process: killing it (as an FFmpeg crash on a crafted file
    would) costs the job, with invalid_input, and nothing else."""
    import os
    import signal

    import psutil
    from helpers import builtin_sources
    from waiting import wait_until

    client: TestClient = make_client(  # type: ignore[operator]
        builtin_sources("barcode", "image_info"), force_in_process=True
    )
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    long_video = videos.plain_video(video_dir / "decoder-crash.mp4", seconds=40, fps=30)
    ref = upload(client, long_video)
    job = submit(client, video_ref=ref, plugin="image_info", sample={"every_n_frames": 1})
    wait_until(
        lambda: (client.get(f"/v1/jobs/{job['id']}").json()["progress"] or 0) > 0,
        "the video job to be under way",
    )
    decoders = [
        p
        for p in me.children(recursive=True)
        if p.pid not in before and "resource_tracker" not in " ".join(p.cmdline())
    ]
    assert len(decoders) == 1, decoders
    os.kill(decoders[0].pid, signal.SIGKILL)
    done = finished(client, job["id"])
    assert done["status"] == "FAILED"
    assert done["error"]["details"]["code"] == "invalid_input"
    assert "decoder stopped" in done["error"]["message"]
    _still_serves(client, scripted_mp4)
