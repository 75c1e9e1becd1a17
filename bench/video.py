"""Video jobs: frames per second through a tool, against decoding alone and against the
limit (decoding + the tool called directly), in the same run.

Run: ``python bench/video.py [--seconds 6] [--every 2] [--rounds 2]``. It generates a
1280x720 H.264 video (30 fps, a QR code moving over a photograph), then:

- baselines, in this process, on every ``--every``-th frame: decoding every frame with
  the server's own decoder (``app.video.source``); decoding plus the hand-off a video job
  used to add to every sampled frame (JPEG encoding, ``app.video.frames``); decoding plus
  the hand-off it adds now for a tool that takes pixels (the RGB bytes); and **the limit**:
  decoding plus barcode's own code called directly on those pixels, one process;
- on real servers (uvicorn, SQLite) with 1 and then 2 plugin workers: two video jobs at
  once on the same uploaded video, sampled frames per second from the first job's
  ``started_at`` to the last one's ``finished_at`` (server clock), for ``barcode`` with
  frames as pixels (the default) and as JPEG (``VISOR_VIDEO_PIXELS=false``), rounds
  alternating, medians printed with the spread.

The machine is shared and noisy (2 cores, other work running): read the ratios, not the
absolute numbers, and expect them to move between runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

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


def _decode_fps(path: Path, *, every: int, handoff: str) -> tuple[float, int]:
    """Sampled frames per second of decoding, plus ``handoff`` on every sampled frame:
    "" (nothing), "jpeg", "pixels" (the RGB bytes) or "barcode" (pixels + the tool)."""
    from app.plugins.frames import Pixels
    from app.video.frames import FrameEncoder
    from app.video.source import VideoSource

    encoder = FrameEncoder()
    tool: Any = None
    if handoff == "barcode":
        from app.plugins.base import ToolContext
        from app.plugins.builtin.barcode.plugin import BarcodePlugin
        from app.plugins.frames import attached, reference

        plugin = BarcodePlugin()
        plugin.startup()
        spec = BarcodePlugin.tool_specs()["read"]
        ref = reference("bench")

        def tool(pixels: Pixels) -> None:
            with attached({ref: pixels}):
                spec.bind(plugin, {"image": ref}, ToolContext(plugin="barcode", tool="read"))

    started = time.perf_counter()
    count = 0
    with VideoSource(path, max_pixels=50_000_000) as source:
        for number, decoded in enumerate(source.frames()):
            if number % every:
                continue
            count += 1
            if handoff == "jpeg":
                encoder.payload(decoded.image)
            elif handoff in ("pixels", "barcode"):
                rgb = decoded.image.to_ndarray(format="rgb24")
                pixels = Pixels(rgb.shape[1], rgb.shape[0], rgb.tobytes())
                if tool is not None:
                    tool(pixels)
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
    parser.add_argument("--rounds", type=int, default=2)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        video = _make_video(Path(tmp) / "bench-720p.mp4", opts.seconds)
        base: dict[str, list[float]] = {}
        for _ in range(opts.rounds):
            for handoff in ("", "jpeg", "pixels", "barcode"):
                base.setdefault(handoff, []).append(
                    _decode_fps(video, every=opts.every, handoff=handoff)[0]
                )
        decode = statistics.median(base[""])
        limit = statistics.median(base["barcode"])
        print(f"720p H.264, {video.stat().st_size // 1024} KiB, every {opts.every}th frame")
        labels = {
            "": "decoding alone",
            "jpeg": "decoding + JPEG (before)",
            "pixels": "decoding + RGB bytes (now)",
            "barcode": "the limit: decoding + barcode called directly",
        }
        for handoff, label in labels.items():
            fps = statistics.median(base[handoff])
            print(
                f"  {label:<46} {fps:7.1f} sampled fps "
                f"({fps / decode:.2f} of decoding; {_spread(base[handoff])})"
            )
        served: dict[tuple[int, str], list[float]] = {}
        for round_no in range(opts.rounds):
            modes = ("pixels", "jpeg") if round_no % 2 == 0 else ("jpeg", "pixels")
            for workers in (1, 2):
                for mode in modes:
                    server = VisorServer(
                        VISOR_DATA_DIR=str(Path(tmp) / f"barcode-{workers}-{mode}-{round_no}"),
                        VISOR_PLUGINS_ALLOWLIST="barcode",
                        VISOR_PLUGIN_WORKERS=json.dumps({"barcode": workers}),
                        VISOR_WORKERS_PER_PLUGIN=str(workers),
                        VISOR_WARM_WORKERS=str(workers),
                        VISOR_VIDEO_PIXELS="true" if mode == "pixels" else "false",
                    ).wait_ready(60)
                    try:
                        fps = _jobs_fps(server.url, video, "barcode", opts.every, opts.jobs)
                    finally:
                        server.stop()
                    served.setdefault((workers, mode), []).append(fps)
        for (workers, mode), values in sorted(served.items()):
            fps = statistics.median(values)
            print(f"barcode, {workers} worker(s), {opts.jobs} jobs, frames as {mode:<6}: "
                  f"{fps:6.1f} sampled fps = {fps / limit:.2f} of the limit, "
                  f"{fps / decode:.3f} of decoding alone ({_spread(values)})")  # fmt: skip
        for workers in (1, 2):
            gain = statistics.median(served[(workers, "pixels")]) / statistics.median(
                served[(workers, "jpeg")]
            )
            print(f"{workers} worker(s): pixels ÷ JPEG = {gain:.2f}")
        print("(shared, noisy 2-core machine: compare ratios, expect run-to-run spread)")


def _spread(values: list[float]) -> str:
    return f"{min(values):.1f}-{max(values):.1f}"


if __name__ == "__main__":
    main()
