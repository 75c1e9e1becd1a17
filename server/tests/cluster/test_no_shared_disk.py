"""Three API servers, three data directories, one PostgreSQL (issue 27): blobs live in the
database (``VISOR_BLOB_URL=database``), so a file uploaded on one server is analysed on
another, and jobs submitted on a third — a 20 MB input, a video — run wherever a
dispatcher is free, survive ``kill -9`` of the server running them, and need no shared
disk (the killed servers' data directories are deleted before the others take over)."""

from __future__ import annotations

import base64
import io
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from databases import throwaway_database
from PIL import Image
from server_process import ServerProcess
from sqlalchemy import create_engine, func, select, text
from waiting import wait_until

sys.path.insert(0, str(Path(__file__).parent.parent / "video"))
import videos

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PAD = 20 * 1024 * 1024  # the large input: 20 MB of args


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, list[ServerProcess]]]:
    with throwaway_database("visor_cluster") as url:
        env = {
            "VISOR_BLOB_URL": "database",
            "VISOR_VIDEO_CHECKPOINT_FRAMES": "10",
            "VISOR_VIDEO_CHECKPOINT_S": "0.5",
            "VISOR_JOB_HEARTBEAT_S": "1",
        }
        servers = [
            ServerProcess(
                tmp_path / f"data-{name}",
                tmp_path / f"{name}.log",
                url,
                allowlist="visor_test_echo,image_info",
                env=env,
            )
            for name in "abc"
        ]
        try:
            for server in servers:
                server.launch()
            for server in servers:
                server.wait_ready()
            yield url, servers
        finally:
            for server in servers:
                server.stop()


def _png() -> bytes:
    buf = io.BytesIO()
    Image.effect_noise((64, 48), 40).convert("RGB").save(buf, "PNG")
    return buf.getvalue()


def _runners(url: str, job_ids: list[str]) -> dict[str, int | None]:
    """The pid of the server running each job now (None: not running)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT j.id, w.pid FROM visor_jobs j LEFT JOIN visor_job_workers w "
                    "ON w.id = j.owner WHERE j.id = ANY(:ids) AND j.status = 'RUNNING'"
                ),
                {"ids": job_ids},
            ).all()
    finally:
        engine.dispose()
    found: dict[str, int | None] = dict.fromkeys(job_ids)
    found.update({job_id: pid for job_id, pid in rows})
    return found


def _checkpointed(url: str, job_id: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            stmt = (
                select(func.count())
                .select_from(text("visor_video_frames"))
                .where(text("job_id = :j"))
            )
            return int(conn.execute(stmt, {"j": job_id}).scalar() or 0)
    finally:
        engine.dispose()


def _stored_on_disk(server: ServerProcess) -> list[Path]:
    found = []
    for area in ("files", "job-inputs"):
        found += [p for p in (server.data_dir / area).rglob("*") if p.is_file()]
    return found


def test_three_servers_share_nothing_but_the_database(
    cluster: tuple[str, list[ServerProcess]], tmp_path: Path
) -> None:
    url, (a, b, c) = cluster

    # Upload on A, analyse by image_ref on B.
    image = _png()
    response = a.http.post("/v1/files", files={"file": ("noise.png", image)})
    assert response.status_code == 201, response.text
    file_id = response.json()["id"]
    response = b.http.post("/v1/analyze", json={"plugin": "image_info", "image_ref": file_id})
    assert response.status_code == 200, response.text
    assert (response.json()["result"]["width"], response.json()["result"]["height"]) == (64, 48)
    # A job by image_ref on C, with the image pinned at submit (C reads A's upload).
    response = c.http.post(
        "/v1/jobs", json={"plugin": "image_info", "image": base64.b64encode(image).decode()}
    )
    assert response.status_code == 202, response.text
    small = response.json()["id"]

    # A video and a 20 MB input, both submitted on C.
    video = videos.plain_video(tmp_path / "clip.mp4", seconds=20, fps=30)
    with video.open("rb") as fh:
        response = a.http.post("/v1/files", files={"file": ("clip.mp4", fh)}, timeout=120)
    assert response.status_code == 201, response.text
    response = c.http.post(
        "/v1/video/jobs",
        json={
            "video_ref": response.json()["id"],
            "plugin": "image_info",
            "sample": {"every_n_frames": 1},
            "max_attempts": 3,
        },
    )
    assert response.status_code == 202, response.text
    clip = response.json()["id"]

    wait_until(lambda: _checkpointed(url, clip) >= 10, "the video job to be under way")
    response = c.http.post(
        "/v1/jobs",
        json={
            "plugin": "echo",
            "tool": "sleep",
            "args": {"seconds": 5, "steps": 50, "pad": "x" * PAD},
        },
        timeout=120,
    )
    assert response.status_code == 202, response.text
    large = response.json()["id"]
    # Mid-run: kill -9 whichever servers run them, and delete their data directories.
    running = wait_until(
        lambda: (r := _runners(url, [large, clip])) and all(r.values()) and r,
        "both jobs to be running",
    )
    victims = [s for s in (a, b, c) if s.proc is not None and s.proc.pid in running.values()]
    assert victims and len(victims) < 3
    for server in victims:
        server.kill9()
        shutil.rmtree(server.data_dir)
    survivor = next(s for s in (a, b, c) if s not in victims)

    def finished(job_id: str) -> dict[str, Any] | None:
        job: dict[str, Any] = survivor.job(job_id)
        return job if job["status"] in ("SUCCESS", "FAILED", "CANCELLED") else None

    for job_id in (small, large, clip):
        done = wait_until(lambda j=job_id: finished(j), f"job {job_id} to finish", 120.0)
        assert done["status"] == "SUCCESS", done["error"]
    assert survivor.job(large)["attempts"] == 2 and survivor.job(clip)["attempts"] == 2
    result = survivor.http.get(f"/v1/jobs/{clip}/result").json()["result"]
    assert result["video"]["frames_sampled"] == 600
    assert [f["index"] for f in result["frames"]] == list(range(600))
    # Nothing went to any data directory: every byte was a blob in the database.
    for server in (a, b, c):
        if server not in victims:
            assert _stored_on_disk(server) == []
