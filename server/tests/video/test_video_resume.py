"""kill -9 a real server in the middle of a video job; the restarted server resumes the job
from its last checkpoint: frames done before the kill are not run through the tool again.
Also: the server's memory does not grow with the video (a 150+ MB file, streamed)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest
import videos
from PIL import Image
from server_process import ServerProcess
from sqlalchemy import create_engine, func, select
from video_helpers import finished, submit
from waiting import wait_until

from app.video.checkpoints import CheckpointStore
from app.video.tables import video_frames

pytestmark = pytest.mark.slow

FPS = 30
SECONDS = 20


@pytest.fixture
def servers() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


def _checkpointed(url: str, job_id: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            stmt = select(func.count()).where(video_frames.c.job_id == job_id)
            return int(conn.execute(stmt).scalar() or 0)
    finally:
        engine.dispose()


def _upload(server: ServerProcess, path: Path) -> str:
    with path.open("rb") as fh:
        response = server.http.post("/v1/files", files={"file": (path.name, fh)}, timeout=120)
    assert response.status_code == 201, response.text
    file_id: str = response.json()["id"]
    return file_id


def _calls(server: ServerProcess, plugin: str) -> int:
    health: dict[str, Any] = server.http.get(f"/v1/plugins/{plugin}/health").json()
    return int(health["success_count"]) + int(health["error_count"])


def test_a_killed_video_job_resumes_from_its_checkpoint(
    tmp_path: Path, servers: list[ServerProcess], database_url: str | None
) -> None:
    data_dir = tmp_path / "data"
    url = database_url or f"sqlite:///{data_dir / 'visor.sqlite3'}"
    env = {"VISOR_VIDEO_CHECKPOINT_FRAMES": "10", "VISOR_VIDEO_CHECKPOINT_S": "0.5"}

    def boot() -> ServerProcess:
        server = ServerProcess(
            data_dir, tmp_path / "server.log", database_url, allowlist="image_info", env=env
        ).start()
        servers.append(server)
        return server

    video = videos.plain_video(tmp_path / "long.mp4", seconds=SECONDS, fps=FPS)
    total = SECONDS * FPS
    first = boot()
    job = submit(
        first.http,
        video_ref=_upload(first, video),
        plugin="image_info",
        sample={"every_n_frames": 1},
        max_attempts=3,
    )
    wait_until(lambda: _checkpointed(url, job["id"]) >= 20, "frames to be checkpointed")
    first.kill9()
    done_before = _checkpointed(url, job["id"])
    assert 20 <= done_before < total, "the job finished before the kill: make the video longer"

    second = boot()
    done = finished(second.http, job["id"])
    assert done["status"] == "SUCCESS", done["error"]
    assert done["attempts"] == 2
    result = done["result"]
    assert result["video"]["frames_sampled"] == total
    assert result["video"]["frames_resumed"] == done_before
    frames = result["frames"]
    assert [f["index"] for f in frames] == list(range(total)), "a frame was skipped or doubled"
    assert [f["t_s"] for f in frames] == pytest.approx([n / FPS for n in range(total)], abs=1e-5)
    assert all("result" in f for f in frames)
    # The restarted server ran the tool only on the frames the first one had not finished.
    assert _calls(second, "image_info") == total - done_before
    # Kept until the job was recorded as finished (a crash before that costs no frame),
    # then swept by the next video job as belonging to a job that no longer runs.
    assert _checkpointed(url, job["id"]) == total
    engine = create_engine(url)
    try:
        assert CheckpointStore(engine).sweep() == total
    finally:
        engine.dispose()
    assert _checkpointed(url, job["id"]) == 0


def test_a_server_stop_checkpoints_and_the_next_start_resumes(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    """SIGTERM: the running video job saves what it has done and goes back to PENDING."""
    data_dir = tmp_path / "data"
    url = f"sqlite:///{data_dir / 'visor.sqlite3'}"
    env = {"VISOR_VIDEO_CHECKPOINT_FRAMES": "1000", "VISOR_JOB_SHUTDOWN_GRACE_S": "0.2"}

    def boot() -> ServerProcess:
        server = ServerProcess(
            data_dir, tmp_path / "server.log", None, allowlist="image_info", env=env
        ).start()
        servers.append(server)
        return server

    video = videos.plain_video(tmp_path / "long.mp4", seconds=SECONDS, fps=FPS)
    first = boot()
    job = submit(
        first.http, video_ref=_upload(first, video), plugin="image_info",
        sample={"every_n_frames": 1},
    )  # fmt: skip
    wait_until(
        lambda: (first.http.get(f"/v1/jobs/{job['id']}").json()["progress"] or 0) > 0.1,
        "the video job to be under way",
    )
    first.stop()  # SIGTERM: graceful
    saved = _checkpointed(url, job["id"])
    assert saved > 0, "nothing was checkpointed on a graceful stop"

    second = boot()
    done = finished(second.http, job["id"])
    assert done["status"] == "SUCCESS", done["error"]
    assert done["attempts"] == 2
    assert done["result"]["video"]["frames_resumed"] == saved
    assert [f["index"] for f in done["result"]["frames"]] == list(range(SECONDS * FPS))
    assert _calls(second, "image_info") == SECONDS * FPS - saved


def _noise_video(path: Path, frames: int) -> Path:
    """720p noise as MJPEG: incompressible, so a big file from few frames."""
    rng = np.random.default_rng(7)
    noise = [rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8) for _ in range(4)]
    return videos.write_video(
        path,
        lambda t: Image.fromarray(noise[round(t * 10) % 4]),
        seconds=frames / 10,
        fps=10,
        size=(1280, 720),
        codec="mjpeg",
        container="mov",
    )


def test_memory_does_not_grow_with_the_video(tmp_path: Path, servers: list[ServerProcess]) -> None:
    """The peak memory of the server and its children (decoder process, plugin workers)
    for a 160 MB video is about that for a video a quarter of its size: nothing in the path
    holds the file, only a few frames at a time."""
    small = _noise_video(tmp_path / "small.mov", frames=35)
    big = _noise_video(tmp_path / "big.mov", frames=140)
    assert big.stat().st_size > 150 * 1024 * 1024, "the test video is too small"
    server = ServerProcess(
        tmp_path / "data", tmp_path / "server.log", None, allowlist="image_info"
    ).start()
    servers.append(server)
    assert server.proc is not None
    process = psutil.Process(server.proc.pid)

    def rss() -> int:
        total = 0
        for proc in [process, *process.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += proc.memory_info().rss
        return total

    def peak_growth(video: Path) -> int:
        ref = _upload(server, video)
        baseline = peak = rss()
        job = submit(server.http, video_ref=ref, plugin="image_info", sample={"every_n_frames": 7})

        def done() -> dict[str, Any] | None:
            nonlocal peak
            peak = max(peak, rss())
            current: dict[str, Any] = server.http.get(f"/v1/jobs/{job['id']}").json()
            return current if current["status"] in ("SUCCESS", "FAILED") else None

        final = wait_until(done, f"the job on {video.name} to finish", timeout_s=300)
        assert final["status"] == "SUCCESS", final["error"]
        return peak - baseline

    small_growth = peak_growth(small)
    big_growth = peak_growth(big)
    size = big.stat().st_size
    print(f"peak growth {small_growth / 2**20:.0f} MiB (40 MB video), "
          f"{big_growth / 2**20:.0f} MiB ({size / 2**20:.0f} MiB video)")  # fmt: skip
    # Generous bounds: the big video's extra 120 MB must not show up in memory.
    assert big_growth < small_growth + 48 * 2**20
    assert big_growth < size
