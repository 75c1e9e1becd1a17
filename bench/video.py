"""Video jobs: frames per second through a tool, against decoding alone in the same run.

Run: ``python bench/video.py [--seconds 6] [--every 2]``. It generates a 1280x720 H.264
video (30 fps, a QR code moving over a photograph), then:

- baseline, in this process: decoding every frame with the server's own decoder
  (``app.video.source``), and decoding plus the per-frame JPEG encoding a video job adds
  (``app.video.frames``): frames per second;
- for ``barcode`` and ``image_info``, on a real server (uvicorn, default settings, SQLite)
  with 1 and then 2 plugin workers: two video jobs at once on the same uploaded video, every
  ``--every``-th frame; sampled frames per second from the first job's ``started_at`` to the
  last one's ``finished_at`` (server clock).

Everything is printed as a ratio to decoding alone. The machine is shared and noisy (2
cores, other work running): read the ratios, not the absolute numbers, and expect them to
move between runs.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import httpx

from benchlib import VisorServer

WIDTH, HEIGHT, FPS = 1280, 720, 30


def _make_video(path: Path, seconds: float) -> Path:
    import av
    import numpy as np
    import zxingcpp
    from PIL import Image
    from skimage import data

    code = zxingcpp.create_barcode("VISOR-BENCH", zxingcpp.BarcodeFormat.QRCode)
    qr = Image.fromarray(np.asarray(zxingcpp.write_barcode_to_image(code, scale=6))).convert("RGB")
    photo = Image.fromarray(data.astronaut()).resize((WIDTH, HEIGHT))
    background = np.asarray(photo)
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20"}
        stream.time_base = Fraction(1, FPS)
        for n in range(round(seconds * FPS)):
            canvas = Image.fromarray(background.copy())
            canvas.paste(qr, (100 + (n * 7) % 800, 200))
            frame = av.VideoFrame.from_image(canvas)
            frame.pts = n
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _decode_fps(path: Path, *, encode: bool) -> tuple[float, int]:
    from app.video.frames import FrameEncoder
    from app.video.source import VideoSource

    encoder = FrameEncoder()

    started = time.perf_counter()
    count = 0
    with VideoSource(path, max_pixels=50_000_000) as source:
        for decoded in source.frames():
            if encode:
                encoder.payload(decoded.image)
            count += 1
    return count / (time.perf_counter() - started), count


def _jobs_fps(url: str, video: Path, plugin: str, every: int, jobs: int) -> float:
    with httpx.Client(base_url=url, timeout=120) as client:
        with video.open("rb") as fh:
            ref = client.post("/v1/files", files={"file": (video.name, fh)}).json()["id"]
        body = {"video_ref": ref, "plugin": plugin, "sample": {"every_n_frames": every}}
        # Warm the plugin's workers (a short range) so start-up is not measured.
        warm = {**body, "sample": {"every_n_frames": every, "end_s": 0.5}}
        _wait(client, [client.post("/v1/video/jobs", json=warm).json()["id"]])
        ids = [client.post("/v1/video/jobs", json=body).json()["id"] for _ in range(jobs)]
        finished = _wait(client, ids)
    assert all(j["status"] == "SUCCESS" for j in finished), finished[0].get("error")
    frames = sum(j["result"]["video"]["frames_sampled"] for j in finished)
    start = min(datetime.fromisoformat(j["started_at"]) for j in finished)
    end = max(datetime.fromisoformat(j["finished_at"]) for j in finished)
    return frames / (end - start).total_seconds()


def _wait(client: httpx.Client, ids: list[str]) -> list[dict]:
    while True:
        jobs = [client.get(f"/v1/jobs/{job_id}").json() for job_id in ids]
        if all(j["status"] in ("SUCCESS", "FAILED", "CANCELLED") for j in jobs):
            return jobs
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="length of the video")
    parser.add_argument("--every", type=int, default=2, help="sample every n-th frame")
    parser.add_argument("--jobs", type=int, default=2, help="video jobs at once")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        video = _make_video(Path(tmp) / "bench-720p.mp4", opts.seconds)
        decode, frames = _decode_fps(video, encode=False)
        with_jpeg, _ = _decode_fps(video, encode=True)
        print(f"720p H.264, {frames} frames, {video.stat().st_size // 1024} KiB")
        print(f"baseline: decoding alone {decode:.0f} fps (1.00)")
        print(f"  decoding + JPEG per frame {with_jpeg:.0f} fps ({with_jpeg / decode:.2f})")
        for plugin in ("barcode", "image_info"):
            for workers in (1, 2):
                server = VisorServer(
                    VISOR_DATA_DIR=str(Path(tmp) / f"{plugin}-{workers}"),
                    VISOR_PLUGINS_ALLOWLIST=plugin,
                    VISOR_PLUGIN_WORKERS=json.dumps({plugin: workers}),
                    VISOR_WORKERS_PER_PLUGIN=str(workers),
                ).wait_ready(60)
                try:
                    fps = _jobs_fps(server.url, video, plugin, opts.every, opts.jobs)
                finally:
                    server.stop()
                print(
                    f"{plugin}, {workers} worker(s), {opts.jobs} jobs, every {opts.every}: "
                    f"{fps:.1f} sampled fps = {fps / decode:.3f} x decoding alone, "
                    f"{fps / with_jpeg:.2f} x decoding + JPEG"
                )
        print("(shared, noisy 2-core machine: compare ratios, expect run-to-run spread)")


if __name__ == "__main__":
    main()
