"""Soak: N minutes at C connections on a mix of tools, watching memory and answers.

Run: ``python bench/soak.py --minutes 10 --connections 64``. Starts Visor on its defaults
(bench/peers_app.py: image_info and barcode in worker processes), warms it up at full
concurrency (so every plugin's workers are booted before the first reading), then keeps C
keep-alive connections busy with a weighted mix: image_info and barcode on a tiny PNG,
barcode on a photo-sized JPEG, now and then image_info on the photo. Not part of the test
suite.

Prints throughput, counts per status, p50/p99 latency, and the resident memory of the
server and of every worker at the start, middle and end. Exits 1 when the total RSS grows
by more than 10% from start to end, or when any 5xx other than 503 ``overloaded`` (the
documented backpressure answer) appears.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import random
import signal
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import free_port, read_response, wait_ready
from peers import _request, _start, images

#: (plugin, tool, image, weight)
MIX = [
    ("image_info", "describe", "tiny", 40),
    ("barcode", "read", "tiny", 40),
    ("barcode", "read", "photo", 18),
    ("image_info", "describe", "photo", 2),
]
MAX_GROWTH = 0.10


class Tally:
    def __init__(self) -> None:
        self.status: collections.Counter[int] = collections.Counter()
        self.codes: collections.Counter[str] = collections.Counter()
        self.latencies: list[float] = []


async def _connection(
    port: int, requests: list[bytes], weights: list[int], deadline: float, tally: Tally
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random()
    try:
        while time.perf_counter() < deadline:
            request = rng.choices(requests, weights)[0]
            started = time.perf_counter()
            writer.write(request)
            status, body = await read_response(reader)
            tally.status[status] += 1
            if status == 200:
                tally.latencies.append(time.perf_counter() - started)
            else:
                code = body.split(b'"code":"', 1)[-1].split(b'"', 1)[0].decode(errors="replace")
                tally.codes[f"{status} {code}"] += 1
    finally:
        writer.close()


def rss(pid: int) -> dict[str, float]:
    """MB resident per process: the server and each of its workers."""
    out = {}
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            label = "server" if proc.pid == pid else f"worker {proc.pid}"
            if "resource_tracker" in " ".join(proc.cmdline()):
                label = f"tracker {proc.pid}"
            out[label] = proc.memory_info().rss / 2**20
        except psutil.Error:
            continue
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    opts = parser.parse_args()

    pictures = images()
    port = free_port()
    server = _start("visor", port)
    failed = False
    try:
        wait_ready(f"http://127.0.0.1:{port}", server, timeout_s=120)
        requests = [
            _request(
                port,
                "/v1/analyze",
                {
                    "plugin": plugin,
                    "tool": tool,
                    "image": base64.b64encode(pictures[size]).decode(),
                    "mime_type": "image/png" if size == "tiny" else "image/jpeg",
                },
            )
            for plugin, tool, size, _ in MIX
        ]
        weights = [w for *_, w in MIX]
        warm = Tally()
        asyncio.run(_run(port, requests, weights, 20.0, opts.connections, warm))
        total_s = opts.minutes * 60
        readings: dict[str, dict[str, float]] = {"start": rss(server.pid)}
        tally = Tally()
        started = time.perf_counter()

        async def soak() -> None:
            task = asyncio.create_task(
                _run(port, requests, weights, total_s, opts.connections, tally)
            )
            await asyncio.sleep(total_s / 2)
            readings["middle"] = rss(server.pid)
            await task

        asyncio.run(soak())
        elapsed = time.perf_counter() - started
        readings["end"] = rss(server.pid)
        failed = report(tally, elapsed, readings, opts)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except Exception:
            server.kill()
    sys.exit(1 if failed else 0)


async def _run(
    port: int, requests: list[bytes], weights: list[int], seconds: float, c: int, tally: Tally
) -> None:
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(_connection(port, requests, weights, deadline, tally) for _ in range(c)))


def report(
    tally: Tally, elapsed: float, readings: dict[str, dict[str, float]], opts: argparse.Namespace
) -> bool:
    total = sum(tally.status.values())
    ok = tally.status[200]
    lat = sorted(tally.latencies)
    p50 = lat[len(lat) // 2] * 1000 if lat else float("nan")
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000 if lat else float("nan")
    load = psutil.getloadavg()
    print(
        f"\nsoak: {opts.minutes:g} min at {opts.connections} connections "
        f"(load average at the end {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} on "
        f"{psutil.cpu_count()} CPUs)"
    )
    print(f"requests {total}, {total / elapsed:.0f} req/s; successful {ok / elapsed:.0f} req/s")
    print("status: " + ", ".join(f"{s}: {n}" for s, n in sorted(tally.status.items())))
    if tally.codes:
        print("errors: " + ", ".join(f"{k}: {n}" for k, n in tally.codes.most_common()))
    print(f"latency of successful requests: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    labels = sorted({k for r in readings.values() for k in r}, key=lambda k: (k != "server", k))
    print(f"\n{'RSS MB':<16}" + "".join(f"{phase:>10}" for phase in readings))
    for label in labels:
        print(
            f"{label:<16}"
            + "".join(f"{r.get(label, float('nan')):10.1f}" for r in readings.values())
        )
    totals = {phase: sum(r.values()) for phase, r in readings.items()}
    print(f"{'total':<16}" + "".join(f"{t:10.1f}" for t in totals.values()))
    growth = totals["end"] / totals["start"] - 1
    unexpected = {
        k: n for k, n in tally.codes.items() if k.startswith("5") and k != "503 overloaded"
    }
    print(f"\nRSS growth start→end: {growth * 100:+.1f}% (limit +{MAX_GROWTH * 100:.0f}%)")
    print(f"unexpected 5xx: {sum(unexpected.values())} {dict(unexpected) or ''}")
    failed = growth > MAX_GROWTH or bool(unexpected)
    print("FAIL" if failed else "PASS")
    return failed


if __name__ == "__main__":
    main()
