"""Jobs on a CPU-bound tool: 2 plugin workers vs 1, and submit-and-wait vs a sync call.

Run: ``python bench/jobs_scaling.py [--jobs 120] [--rounds 2]``. Each round starts a real
server (uvicorn, default settings, SQLite under a temporary data directory) with
``VISOR_PLUGIN_WORKERS={"barcode": N}``, alternating N = 1 and N = 2 so outside load hits
both alike, and measures on ``barcode.read`` over a 1024x1024 photo (scikit-image's
astronaut, no code in it: the decoder scans the whole image, a CPU-bound call that releases
no work to the server):

- burst throughput: ``--jobs`` JSON submissions from 4 client threads; jobs/s from the
  first job's ``created_at`` to the last ``finished_at`` (server clock);
- sequential latency (2-worker rounds): ``POST /v1/jobs?wait=30`` (one request, the job
  stored durably) vs ``POST /v1/analyze`` (no job), interleaved, p50 of each.

Targets (issue 15): 2 workers >= 1.6x the jobs/s of 1; submit-and-wait p50 <= 1.2x sync.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

from benchlib import VisorServer, jobs_per_second


def _photo_b64() -> str:
    from PIL import Image
    from skimage import data

    image = Image.fromarray(data.astronaut()).resize((1024, 1024))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _burst(url: str, image: str, jobs: int) -> float:
    body = {"plugin": "barcode", "tool": "read", "image": image}
    ids: list[str] = []
    lock = threading.Lock()

    def submit(count: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            for _ in range(count):
                response = client.post("/v1/jobs", json=body)
                response.raise_for_status()
                with lock:
                    ids.append(response.json()["id"])

    threads = [threading.Thread(target=submit, args=(jobs // 4,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return jobs_per_second(url, ids)


def _latencies(url: str, image: str, calls: int) -> tuple[float, float]:
    body = {"plugin": "barcode", "tool": "read", "image": image}
    waited, sync = [], []
    with httpx.Client(base_url=url, timeout=60) as client:
        for _ in range(3):  # warm both paths
            client.post("/v1/analyze", json=body)
            client.post("/v1/jobs", params={"wait": 30}, json=body)
        for _ in range(calls):
            t0 = time.perf_counter()
            response = client.post("/v1/jobs", params={"wait": 30}, json=body)
            waited.append(time.perf_counter() - t0)
            assert response.status_code == 200 and response.json()["status"] == "SUCCESS"
            t0 = time.perf_counter()
            response = client.post("/v1/analyze", json=body)
            sync.append(time.perf_counter() - t0)
            assert response.status_code == 200
    return statistics.median(waited) * 1000, statistics.median(sync) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--calls", type=int, default=40)
    opts = parser.parse_args()
    image = _photo_b64()
    rates: dict[int, list[float]] = {1: [], 2: []}
    waits, syncs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(opts.rounds):
            for workers in (1, 2):
                server = VisorServer(
                    VISOR_DATA_DIR=str(Path(tmp) / f"r{round_no}w{workers}"),
                    VISOR_PLUGINS_ALLOWLIST="barcode",
                    VISOR_PLUGIN_WORKERS=json.dumps({"barcode": workers}),
                    VISOR_WORKERS_PER_PLUGIN=str(workers),
                ).wait_ready(60)
                try:
                    _burst(server.url, image, 8)  # warm the workers
                    rates[workers].append(_burst(server.url, image, opts.jobs))
                    if workers == 2:
                        waited, sync = _latencies(server.url, image, opts.calls)
                        waits.append(waited)
                        syncs.append(sync)
                finally:
                    server.stop()
                print(f"round {round_no + 1}, {workers} worker(s): {rates[workers][-1]:.1f} jobs/s")
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    waited, sync = statistics.median(waits), statistics.median(syncs)
    print(f"jobs/s, barcode.read on a 1024x1024 photo: 1 worker {one:.1f}, 2 workers {two:.1f}")
    print(f"  2 workers / 1 worker = {two / one:.2f}  (target >= 1.6)")
    print(f"p50 submit-and-wait {waited:.1f} ms vs sync analyze {sync:.1f} ms")
    print(f"  wait / sync = {waited / sync:.2f}  (target <= 1.2)")


if __name__ == "__main__":
    main()
