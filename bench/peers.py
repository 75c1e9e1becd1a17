"""Visor vs a bare FastAPI endpoint running the same tool code (issue 15's peers benchmark).

Run: ``python bench/peers.py [--before DIR]``. Starts the two servers of bench/peers_app.py
(one process each, default settings) and, with ``--before``, a third: Visor from another
checkout (``DIR`` holds its ``server/``), to compare before/after in one run. Then, in
interleaved rounds (the order flips every round), drives each with keep-alive connections
at 1, 16 and 64 connections, on image_info and barcode, with a tiny image (a QR code PNG)
and a photo-sized one (a 1600x1200 JPEG with a QR code in it). Each run is measured in
steady state: counting starts once every connection has had an answer and lasts
``--seconds`` and at least two answers per connection; the server's CPU is read at the
same two moments.

Each round also measures **the limit** (issue 23): the same handler code fed the same
request body, called directly in as many plain processes as Visor has workers (one per
core by default), no server and no HTTP (``bench/limit.py``).

Prints per configuration, as ratios Visor ÷ bare (medians over rounds): throughput of
successful requests (target ≥ 0.95 at c=16 and 64), refusals (target: none at c=64), p99
latency (≤ 1.5), sequential p50 at c=1 (≤ 1.1) and server CPU per successful request,
counting the server and all its worker processes (≤ 1.1); and each server's throughput ÷
the limit (targets for Visor: barcode 400x400 ≥ 0.8, photo-sized images ≥ 0.9).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from benchlib import free_port, read_response, wait_ready
from limit import calls_per_second

HERE = Path(__file__).resolve().parent
TOOLS = {"image_info": "describe", "barcode": "read"}
CONNECTIONS = (1, 16, 64)


def images() -> dict[str, bytes]:
    """A tiny QR code (99x99 PNG), the 400x400 barcode of issue 23's targets (PNG) and a
    photo-sized 1600x1200 JPEG with a QR code in it."""
    import numpy as np
    import zxingcpp
    from PIL import Image
    from skimage import data

    qr = Image.fromarray(
        np.asarray(
            zxingcpp.create_barcode("visor", zxingcpp.BarcodeFormat.QRCode).to_image(scale=3)
        )
    ).convert("RGB")
    tiny = io.BytesIO()
    qr.save(tiny, "PNG")
    square = io.BytesIO()
    qr.resize((400, 400), Image.Resampling.NEAREST).save(square, "PNG")
    photo = Image.fromarray(data.astronaut()).resize((1600, 1200))
    photo.paste(qr.resize((300, 300)), (1200, 80))
    big = io.BytesIO()
    photo.save(big, "JPEG", quality=90)
    return {"tiny": tiny.getvalue(), "400px": square.getvalue(), "photo": big.getvalue()}


def _mime(size: str) -> str:
    return "image/jpeg" if size == "photo" else "image/png"


@dataclass
class Run:
    ok: int = 0
    refused: int = 0
    errors: int = 0
    seconds: float = 0.0
    cpu_s: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def cpu_per_req_ms(self) -> float:
        return self.cpu_s / self.ok * 1000 if self.ok else float("nan")


def _request(port: int, path: str, body: dict[str, object]) -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


async def _connection(port: int, request: bytes, window: _Window, run: Run) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while not window.over():
            started = time.perf_counter()
            writer.write(request)
            status, _ = await read_response(reader)
            window.answered()
            if not window.counting():
                continue
            if status == 200:
                run.ok += 1
                run.latencies.append(time.perf_counter() - started)
            elif status == 503:
                run.refused += 1
            else:
                run.errors += 1
    finally:
        writer.close()


_WINDOW_MAX_S = 120.0  # no run waits longer than this to open, nor stays open longer


class _Window:
    """The measured part of a run: it opens once the load is steady — every connection has
    had an answer, so a queue as deep as the connection count has formed and drained once —
    and lasts ``seconds``. Answers before it (warm-up) and after it (requests still in
    flight at the end) are not counted, and the server's CPU is read at its two edges, so
    slow calls at high concurrency (a photo at 64 connections: a few answers a second) are
    not cut short at either end of a short run. It also lasts until it holds at least two
    answers per connection (at most two minutes), so a slow tool is counted in whole waves."""

    def __init__(self, connections: int, seconds: float, pid: int) -> None:
        self.seconds = seconds
        self.pid = pid
        self._needed = connections
        self._answers = 0
        self._counted = 0
        self._min_counted = max(20, 2 * connections)
        self.opened: float | None = None
        self.cpu_at_open = 0.0
        self.closed_at: float | None = None
        self.cpu_at_close = 0.0
        self._give_up = time.perf_counter() + _WINDOW_MAX_S

    def answered(self) -> None:
        self._answers += 1
        if self.opened is not None:
            self._counted += 1
        if self.opened is None and self._answers >= self._needed:
            self.cpu_at_open = _tree_cpu(self.pid)
            self.opened = time.perf_counter()

    def counting(self) -> bool:
        return self.opened is not None and not self.over()

    def over(self) -> bool:
        now = time.perf_counter()
        if self.opened is None:
            return now > self._give_up
        elapsed = now - self.opened
        enough = elapsed >= self.seconds and self._counted >= self._min_counted
        if enough or elapsed >= _WINDOW_MAX_S:
            if self.closed_at is None:
                self.cpu_at_close = _tree_cpu(self.pid)
                self.closed_at = now
            return True
        return False


def _tree_cpu(pid: int) -> float:
    total = 0.0
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue
    return total


def drive(pid: int, port: int, request: bytes, seconds: float, connections: int) -> Run:
    run = Run()
    window = _Window(connections, seconds, pid)

    async def all_connections() -> None:
        await asyncio.gather(*(_connection(port, request, window, run) for _ in range(connections)))

    asyncio.run(all_connections())
    if window.opened is not None and window.closed_at is not None:
        run.seconds = window.closed_at - window.opened
        run.cpu_s = window.cpu_at_close - window.cpu_at_open
    return run


def _start(kind: str, port: int, pythonpath: str | None = None) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    paths = [str(HERE)]
    if pythonpath:
        paths.insert(0, pythonpath)
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    env.pop("VISOR_AUTH", None)
    return subprocess.Popen(
        [sys.executable, str(HERE / "peers_app.py"), kind, str(port)], cwd=HERE, env=env
    )


def _ratio(a: float, b: float) -> str:
    return f"{a / b:6.2f}" if b and b == b and a == a else "   n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--before", help="a checkout of an older Visor to compare too")
    parser.add_argument(
        "--processes", type=int, default=None, help="processes for the limit (default: cores)"
    )
    parser.add_argument("--sizes", default="tiny,400px,photo", help="images to run, of those")
    parser.add_argument("--tools", default=",".join(TOOLS), help="plugins to run, of those")
    opts = parser.parse_args()
    from app.plugins.runtime.process.config import auto_workers

    processes = opts.processes or auto_workers()
    limits: dict[tuple[str, str], list[tuple[float, float]]] = {}

    pictures = {k: v for k, v in images().items() if k in opts.sizes.split(",")}
    for plugin in set(TOOLS) - set(opts.tools.split(",")):
        del TOOLS[plugin]
    systems: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    kinds = [("visor", "visor", None), ("bare", "bare", None)]
    if opts.before:
        kinds.append(("before", "visor", str(Path(opts.before) / "server")))
    for name, kind, path in kinds:
        port = free_port()
        systems[name] = (_start(kind, port, path), port)
    results: dict[tuple[str, str, str, int], list[Run]] = {}
    try:
        for _, port in systems.values():
            wait_ready(f"http://127.0.0.1:{port}", timeout_s=120)
        requests: dict[tuple[str, str, str], bytes] = {}
        for name, (_, port) in systems.items():
            for plugin, tool in TOOLS.items():
                for size, data in pictures.items():
                    body = {"image": base64.b64encode(data).decode(), "mime_type": None}
                    if name == "bare":
                        path = f"/bare/{plugin}"
                    else:
                        path = "/v1/analyze"
                        body.update(plugin=plugin, tool=tool)
                        body.pop("mime_type")
                        body["mime_type"] = _mime(size)
                    requests[(name, plugin, size)] = _request(port, path, body)
        for name, (proc, port) in systems.items():  # warm up: workers booted, caches hot
            for plugin in TOOLS:
                drive(proc.pid, port, requests[(name, plugin, "tiny")], 3.0, 64)
        names = list(systems)
        for round_no in range(opts.rounds):
            order = names if round_no % 2 == 0 else names[::-1]
            for plugin in TOOLS:
                for size in pictures:
                    for c in CONNECTIONS:
                        for name in order:
                            proc, port = systems[name]
                            run = drive(
                                proc.pid, port, requests[(name, plugin, size)], opts.seconds, c
                            )
                            results.setdefault((name, plugin, size, c), []).append(run)
                    # The limit, in the same round, between the servers' runs.
                    body = {
                        "image": base64.b64encode(pictures[size]).decode(),
                        "mime_type": _mime(size),
                    }
                    limit = calls_per_second(
                        plugin, TOOLS[plugin], body, processes=processes, seconds=opts.seconds
                    )
                    limits.setdefault((plugin, size), []).append(limit)
            print(f"round {round_no + 1}/{opts.rounds} done", flush=True)
    finally:
        for proc, _ in systems.values():
            proc.send_signal(signal.SIGINT)
        for proc, _ in systems.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    report(results, list(systems), pictures, limits, processes)


def _median(runs: list[Run], attr: str) -> float:
    values = [getattr(r, attr) for r in runs]
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def report(
    results: dict[tuple[str, str, str, int], list[Run]],
    names: list[str],
    pictures: dict[str, bytes],
    limits: dict[tuple[str, str], list[tuple[float, float]]],
    processes: int,
) -> None:
    sizes = ", ".join(f"{k} {len(v) / 1024:.0f} KiB" for k, v in pictures.items())
    print(f"\nimages: {sizes}; ratios are Visor ÷ bare FastAPI (medians over rounds)")
    print(f"limit: the handler called directly in {processes} processes, no HTTP")
    print(f"{'tool':<11}{'image':<7} {'limit/s':>8} {'cpu/call ms':>12}  (rounds)")
    for (plugin, size), runs in limits.items():
        rates = [r for r, _ in runs]
        print(
            f"{plugin:<11}{size:<7} {statistics.median(rates):8.0f} "
            f"{statistics.median(c for _, c in runs) * 1000:12.3f}  "
            f"({', '.join(f'{r:.0f}' for r in rates)})"
        )
    contenders = [n for n in names if n != "bare"]
    for name in contenders:
        print(f"\n== {name} ==")
        print(
            f"{'tool':<11}{'image':<7}{'c':>3} {'req/s':>8} {'bare':>8} {'thru':>6} "
            f"{'refused':>8} {'p99':>6} {'p50':>6} {'cpu/req':>8} {'÷lim':>6} {'bare÷lim':>8}"
            "  (ms: p99 visor/bare; spread of req/s over rounds)"
        )
        for plugin in TOOLS:
            for size in pictures:
                for c in CONNECTIONS:
                    ours = results[(name, plugin, size, c)]
                    bare = results[("bare", plugin, size, c)]
                    rps, bare_rps = _median(ours, "rps"), _median(bare, "rps")
                    p99 = statistics.median(r.pct(0.99) for r in ours) * 1000
                    bare_p99 = statistics.median(r.pct(0.99) for r in bare) * 1000
                    p50 = statistics.median(r.pct(0.50) for r in ours)
                    bare_p50 = statistics.median(r.pct(0.50) for r in bare)
                    refused = sum(r.refused + r.errors for r in ours)
                    bare_refused = sum(r.refused + r.errors for r in bare)
                    cpu = _median(ours, "cpu_per_req_ms")
                    bare_cpu = _median(bare, "cpu_per_req_ms")
                    limit = statistics.median(r for r, _ in limits[(plugin, size)])
                    spread = f"{min(r.rps for r in ours):.0f}-{max(r.rps for r in ours):.0f}"
                    print(
                        f"{plugin:<11}{size:<7}{c:>3} {rps:8.0f} {bare_rps:8.0f} "
                        f"{_ratio(rps, bare_rps)} {refused:>4}/{bare_refused:<3} "
                        f"{_ratio(p99, bare_p99)} "
                        f"{_ratio(p50, bare_p50) if c == 1 else '     -'} "
                        f"{_ratio(cpu, bare_cpu)} {_ratio(rps, limit)} "
                        f"{_ratio(bare_rps, limit):>8}"
                        f"    ({p99:.1f}/{bare_p99:.1f}; {spread})"
                    )
    print(
        "\ntargets: thru ≥ 0.95 at c=16/64, no refusals at c=64, p99 ≤ 1.5, "
        "p50 (c=1) ≤ 1.1, cpu/req ≤ 1.1;\n         ÷ limit at c=16/64: barcode 400px ≥ 0.8, "
        "photo ≥ 0.9"
    )


if __name__ == "__main__":
    main()
