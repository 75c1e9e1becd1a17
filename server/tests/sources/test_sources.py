"""Sources on real streams: a looping file, an HTTP MJPEG camera that drops, a bad URL."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient
from servers import MjpegCamera
from waiting import wait_until


def _decoders() -> list[Any]:
    return [p for p in multiprocessing.active_children() if p.name == "visor-video-decoder"]


def _source(client: TestClient, source_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/sources/{source_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_a_looping_file_runs_barcode_and_reports_each_value_once(
    source_client: TestClient, settings: Any
) -> None:
    """samples/codes.mp4 (4 s: VISOR-A, then VISOR-B) read as a camera, in a loop: each
    value is a ``value_seen`` event once, however many passes; stopping ends the decoder."""
    created = source_client.post(
        "/v1/sources",
        json={
            "name": "codes",
            "path": "codes.mp4",
            "plugin": "barcode",
            "sample": {"fps": 5},
            "sinks": [{"file": "codes.jsonl", "frames": True}],
        },
    )
    assert created.status_code == 201, created.text
    source_id = created.json()["id"]
    assert created.headers["location"] == f"/v1/sources/{source_id}"
    sink = settings.data_dir / "sinks" / "codes.jsonl"

    def second_pass() -> bool:
        frames = [x for x in _lines(sink) if x["kind"] == "frame"]
        return bool(frames) and frames[-1]["t_s"] > 4.5

    wait_until(second_pass, "the file to loop", timeout_s=60)
    state = _source(source_client, source_id)
    assert state["state"] == "running"
    assert state["stats"]["frames_out"] >= 10
    assert state["stats"]["video"]["codec"] == "h264"
    lines = _lines(sink)
    values = [x["text"] for x in lines if x["kind"] == "event" and x["type"] == "value_seen"]
    assert values == ["VISOR-A", "VISOR-B"]
    numbers = [x["frame"] for x in lines if x["kind"] == "frame"]
    assert numbers == sorted(set(numbers))  # no frame twice

    stopped = source_client.delete(f"/v1/sources/{source_id}")
    assert stopped.status_code == 200 and stopped.json()["state"] == "stopped"
    wait_until(lambda: not _decoders(), "the decoder to end", timeout_s=30)
    assert _source(source_client, source_id)["state"] == "stopped"


def test_an_mjpeg_camera_that_drops_is_reconnected_and_tracked(
    source_client: TestClient, settings: Any
) -> None:
    """The camera cuts the first connection after 15 frames: the source reconnects, counts
    it, reports the gap, and no frame number is processed twice."""
    with MjpegCamera(fps=20, drop_after=15) as camera:
        created = source_client.post(
            "/v1/sources",
            json={
                "url": camera.url,
                "format": "mpjpeg",
                "plugin": "image_info",
                "sinks": [{"file": "cam.jsonl", "frames": True}],
            },
        )
        assert created.status_code == 201, created.text
        source_id = created.json()["id"]

        def reconnected() -> dict[str, Any] | None:
            stats = _source(source_client, source_id)["stats"]
            gaps = stats["gaps"]
            return stats if gaps and "gap_s" in gaps[0] and stats["frames_out"] > 20 else None

        stats = wait_until(reconnected, "a reconnection with frames after it", timeout_s=60)
        assert stats["reconnects"] >= 1 and camera.connections >= 2
        assert stats["gaps"][0]["gap_s"] >= 0
        assert stats["fps_in"] > 0
        numbers = [x["frame"] for x in _lines(settings.data_dir / "sinks" / "cam.jsonl")]
        assert numbers == sorted(set(numbers))
        paused = source_client.post(f"/v1/sources/{source_id}/pause")
        assert paused.json()["state"] == "paused"
        wait_until(lambda: not _decoders(), "the decoder to end on pause", timeout_s=30)
        resumed = source_client.post(f"/v1/sources/{source_id}/resume")
        assert resumed.json()["state"] == "running"
        before = stats["frames_out"]
        wait_until(
            lambda: _source(source_client, source_id)["stats"]["frames_out"] > before + 5,
            "frames after resuming",
        )
        source_client.delete(f"/v1/sources/{source_id}")
        wait_until(lambda: not _decoders(), "the decoder to end", timeout_s=30)


def test_a_bad_url_fails_the_source_with_a_clear_error(source_client: TestClient) -> None:
    created = source_client.post(
        "/v1/sources", json={"url": "http://127.0.0.1:9/none.mjpg", "plugin": "image_info"}
    )
    assert created.status_code == 201
    source_id = created.json()["id"]
    failed = wait_until(
        lambda: (s := _source(source_client, source_id))["state"] == "failed" and s,
        "the source to fail",
    )
    assert failed["error"]["type"] == "ValidationError"
    assert failed["error"]["details"]["code"] == "invalid_input"
    assert "traceback" not in str(failed)
    wait_until(lambda: not _decoders(), "no decoder left", timeout_s=30)


def test_bad_requests_are_refused_before_anything_runs(source_client: TestClient) -> None:
    cases = [
        ({"url": "file:///etc/passwd", "plugin": "barcode"}, 400),
        ({"path": "../../etc/passwd", "plugin": "barcode"}, 400),
        ({"path": "codes.mp4", "plugin": "nope"}, 404),
        ({"path": "codes.mp4", "plugin": "barcode", "args": {"image": "x"}}, 400),
        ({"path": "codes.mp4", "plugin": "barcode", "sinks": [{"file": "../x"}]}, 400),
        ({"path": "codes.mp4", "pipeline": "missing"}, 404),
    ]
    for body, status in cases:
        response = source_client.post("/v1/sources", json=body)
        assert response.status_code == status, (body, response.text)
        assert "error" in response.json()
    assert source_client.get("/v1/sources").json() == {"sources": []}
