"""Video job fixtures: videos generated once per session, an app with the built-in tools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import videos
from databases import database_url, postgres_url  # noqa: F401  (fixtures)
from fastapi.testclient import TestClient
from helpers import builtin_sources, plugin_sources


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("videos")


@pytest.fixture(scope="session")
def scripted_mp4(video_dir: Path) -> Path:
    """6 s at 10 fps: QR 'VISOR-A' 0 to 2 s, 'VISOR-B' 3 to 5 s, a face 1 to 4 s."""
    return videos.scripted_video(video_dir / "scripted.mp4")


@pytest.fixture(scope="session")
def scripted_webm(video_dir: Path) -> Path:
    return videos.scripted_video(video_dir / "scripted.webm", codec="libvpx-vp9")


@pytest.fixture
def video_client(make_client: Any, database_url: str | None) -> TestClient:  # noqa: F811
    client: TestClient = make_client(
        [*builtin_sources("barcode", "faces", "image_info"), *plugin_sources("echo", "raises")],
        database_url=database_url,
        job_progress_interval_s=0.0,
        video_checkpoint_frames=4,
    )
    return client
