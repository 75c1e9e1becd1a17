"""Tracing off costs nothing: ``POST /v1/analyze`` throughput of this tree (tracing off, the
default) against a baseline revision of Visor (default ``main``), in one run.

Run: ``python bench/tracing_off.py [--baseline REF]``. The baseline's ``server/`` and
``bench/`` are exported with ``git archive`` into a temporary directory and served from
there; both servers run bench/http_app.py (a no-op tool, in-process) under uvicorn, and one
load generator drives them in alternation, round after round. Prints requests/s for each
(median over rounds) and the ratio this/baseline, also as the median of per-round ratios
(target ≥ 0.99). On a shared machine other processes move requests/s a lot from round to
round: the steadier number is the second part, bench/asgi_probe.py run for each revision
in turn (µs per request through the whole app in one process, the fastest batch), whose
ratio baseline/this is the throughput ratio with the noise taken out. Pass ``--traced`` to
add a server with ``VISOR_TRACING=otlp`` exporting to a receiver that accepts and drops
(the cost of tracing when it is on).
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
from pathlib import Path

from benchlib import free_port, wait_ready
from http_throughput import _drive, _request

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


class _Server:
    """uvicorn serving ``http_app:build`` with ``server/`` and ``bench/`` from ``root``."""

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("VISOR_", "OTEL_"))}
        environ.update(env or {})
        # Ahead of the editable install: the baseline's own ``app`` package is imported.
        environ["PYTHONPATH"] = os.pathsep.join([str(root / "server"), str(root / "bench")])
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "http_app:build", "--factory",
             "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
            env=environ, cwd=root,
        )  # fmt: skip

    def wait_ready(self) -> _Server:
        wait_ready(f"http://127.0.0.1:{self.port}", self.proc, 90.0)
        return self

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def _export(ref: str) -> Path:
    """``server/`` and ``bench/`` of ``ref``, in a fresh temporary directory."""
    target = Path(tempfile.mkdtemp(prefix="visor-baseline-"))
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, "server", "bench"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout  # fmt: skip
    with tempfile.TemporaryFile() as tmp:
        tmp.write(archive)
        tmp.seek(0)
        with tarfile.open(fileobj=tmp) as tar:
            tar.extractall(target, filter="data")
    return target


class _Sink(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that accepts every export and keeps nothing."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def _probe(baseline_root: Path, runs: int) -> dict[str, list[float]]:
    """bench/asgi_probe.py for each revision in turn, ``runs`` times: µs per request."""
    shutil.copy(HERE / "asgi_probe.py", baseline_root / "bench" / "asgi_probe.py")
    roots = {"baseline": baseline_root, "this (tracing off)": ROOT}
    found: dict[str, list[float]] = {name: [] for name in roots}
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("VISOR_", "OTEL_"))}
    environ["VISOR_LOG_LEVEL"] = "WARNING"
    for _ in range(runs):
        for name, root in roots.items():
            environ["PYTHONPATH"] = os.pathsep.join([str(root / "server"), str(root / "bench")])
            out = subprocess.run(
                [sys.executable, "asgi_probe.py", "1000", "10"],
                cwd=root / "bench", env=environ, check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            found[name].append(float(out.strip().splitlines()[-1]))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", default="main")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--traced", action="store_true")
    parser.add_argument("--probes", type=int, default=6, help="asgi_probe runs per revision")
    opts = parser.parse_args()

    baseline_root = _export(opts.baseline)
    servers = {"baseline": _Server(baseline_root), "this (tracing off)": _Server(ROOT)}
    sink = None
    if opts.traced:
        sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
        threading.Thread(target=sink.serve_forever, daemon=True).start()
        endpoint = f"http://127.0.0.1:{sink.server_address[1]}"
        servers["this (tracing on)"] = _Server(
            ROOT, {"VISOR_TRACING": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
        )
    body = {"plugin": "bench_noop", "args": {"n": 1}}
    results: dict[str, list[float]] = {name: [] for name in servers}
    try:
        for server in servers.values():
            server.wait_ready()
        requests = {n: (s.port, _request(s.port, "/v1/analyze", body)) for n, s in servers.items()}
        for port, request in requests.values():  # warm up
            asyncio.run(_drive(port, request, 1.0, opts.connections))
        for round_ in range(opts.rounds):
            order = list(requests.items())
            if round_ % 2:
                order.reverse()  # neither server always goes first
            for name, (port, request) in order:
                results[name].append(
                    asyncio.run(_drive(port, request, opts.seconds, opts.connections))
                )
    finally:
        for server in servers.values():
            server.stop()
        if sink is not None:
            sink.shutdown()
    probes = _probe(baseline_root, opts.probes)

    base = results["baseline"]
    for name, values in results.items():
        rounds = ", ".join(f"{r:.0f}" for r in values)
        print(f"{name:<20}: {statistics.median(values):9.0f} req/s  (rounds: {rounds})")
    for name, values in results.items():
        if name == "baseline":
            continue
        paired = [v / b for v, b in zip(values, base, strict=True)]
        target = "  (target ≥ 0.99)" if "off" in name else ""
        ratio = statistics.median(values) / statistics.median(base)
        print(
            f"ratio {name}/{opts.baseline}: {ratio:.3f}"
            f"; per round (paired) {statistics.median(paired):.3f}{target}"
        )

    print("in one process, no network (bench/asgi_probe.py, fastest batch of each run):")
    for name, values in probes.items():
        runs = ", ".join(f"{v:.1f}" for v in values)
        print(f"{name:<20}: {min(values):8.1f} µs/request  (runs: {runs})")
    ratio = min(probes["baseline"]) / min(probes["this (tracing off)"])
    print(f"throughput ratio this (tracing off)/{opts.baseline}: {ratio:.4f}  (target ≥ 0.99)")


if __name__ == "__main__":
    main()
