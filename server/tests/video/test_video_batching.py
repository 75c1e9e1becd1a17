"""Frames to a batching tool: several frames of one job in the tool at once, gathered into
batches, answered in frame order with exactly the answers one frame at a time gets; and
frames as decoded pixels find what JPEG frames find."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from helpers import builtin_sources
from video_helpers import finished, submit, upload


def _job(client: TestClient, video: Path, plugin: str) -> dict[str, Any]:
    job = submit(client, video_ref=upload(client, video), plugin=plugin, sample={"fps": 5})
    done = finished(client, job["id"])
    assert done["status"] == "SUCCESS", done["error"]
    result: dict[str, Any] = done["result"]
    return result


def _batched_calls(client: TestClient) -> float:
    text = client.get("/metrics").text
    found = re.search(r'visor_batch_size_sum\{plugin="faces",tool="detect"\} (\S+)', text)
    return float(found.group(1)) if found else 0.0


def test_a_batching_tool_gets_frames_together_and_answers_as_one_at_a_time(
    make_client: Any, scripted_mp4: Path
) -> None:
    together = make_client(builtin_sources("faces"), workers_per_plugin=1)
    one_by_one = make_client(builtin_sources("faces"), workers_per_plugin=1, batching=False)
    batched = _job(together, scripted_mp4, "faces")
    alone = _job(one_by_one, scripted_mp4, "faces")
    assert batched["video"]["frames_sampled"] == 30
    assert batched["frames"] == alone["frames"]  # every frame's answer, in frame order
    assert batched["summary"] == alone["summary"]
    assert _batched_calls(together) == 30  # each frame went through the tool's batcher
    assert _batched_calls(one_by_one) == 0


def test_frames_as_pixels_find_what_jpeg_frames_find(make_client: Any, scripted_mp4: Path) -> None:
    pixels = make_client(builtin_sources("barcode"))
    jpeg = make_client(builtin_sources("barcode"), video_pixels=False)
    found = _job(pixels, scripted_mp4, "barcode")["summary"]["values"]
    assert found == _job(jpeg, scripted_mp4, "barcode")["summary"]["values"]
    assert {v["text"] for v in found} == {"VISOR-A", "VISOR-B"}
