"""A learned detector served by Visor, with and without dynamic batching, vs onnxruntime
called directly (the limit).

    python bench/models.py [--workers 2] [--seconds 6] [--rounds 3] [--model M --manifest F]

The model is registered by dropping it into a fresh model directory (picked up at start)
and served by two ``uvicorn app.main:app`` servers with ``--workers`` worker processes for
it: one with batching (the default), one with ``VISOR_BATCHING=false``. The limit is the
same pipeline (JPEG decode, letterbox, onnxruntime, decode, NMS) in as many plain
processes, each session sized the same way (cores / workers intra-op threads), one image
per run, with no server in front, measured in every round between the servers' runs.
Reported, as ratios in one run (medians over rounds, spread in brackets):

* throughput at 16 and 64 connections on a photo (scikit-image's astronaut as JPEG),
  batched and unbatched, ÷ the limit (target >= 0.9), batched ÷ unbatched, and p99;
* sequential p50 latency of one connection vs one direct process (target <= 1.1);
* why the sessions are sized: ``workers`` direct processes with 1 thread per core share
  vs onnxruntime's default of one thread per core in every process (oversubscribed);
* ``allow_spinning``: CPU time per call with calls spaced 20 ms apart, spinning on vs off.

Without ``--model`` a generated YOLOv8-layout network is used (four strided
convolutions to a 40x40 grid, 80 classes: roughly the shape of a small detector's work,
random weights, a free batch dimension); pass a real model and its manifest to time that
instead.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

import numpy as np

from benchlib import VisorServer
from http_throughput import _drive, _request
from peers import Run, drive

NAME = "bench_detector"
PIXEL = 320


def generated_detector() -> tuple[bytes, dict[str, object]]:
    """A YOLOv8-layout network with random weights, and its manifest."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)
    nodes, inits = [], []
    channels, source = 3, "images"
    for index, out in enumerate((16, 32, 64, 128)):
        weight = numpy_helper.from_array(
            (rng.standard_normal((out, channels, 3, 3)) * 0.2).astype(np.float32), f"w{index}"
        )
        inits.append(weight)
        nodes.append(
            helper.make_node(
                "Conv", [source, f"w{index}"], [f"c{index}"], pads=[1, 1, 1, 1],
                strides=[2, 2] if index < 3 else [1, 1],
            )
        )  # fmt: skip
        nodes.append(helper.make_node("Relu", [f"c{index}"], [f"r{index}"]))
        channels, source = out, f"r{index}"
    head = numpy_helper.from_array(
        (rng.standard_normal((84, channels, 1, 1)) * 0.1).astype(np.float32), "head"
    )
    shape = numpy_helper.from_array(np.array([-1, 84, 1600], np.int64), "shape")
    inits += [head, shape]
    nodes += [
        helper.make_node("Conv", [source, "head"], ["raw"]),
        helper.make_node("Sigmoid", ["raw"], ["squashed"]),
        helper.make_node("Reshape", ["squashed", "shape"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "bench_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, PIXEL, PIXEL])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["N", 84, 1600])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    manifest = {
        "task": "detect",
        "labels": [f"class{i}" for i in range(80)],
        "input": {"width": PIXEL, "height": PIXEL},
        "decoder": {"family": "yolo", "layout": "v8", "normalized": True},
        "thresholds": {"score_threshold": 0.72, "iou": 0.5, "max_detections": 100},
    }
    return model.SerializeToString(), manifest


def photo_jpeg() -> bytes:
    from PIL import Image
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


# -- the direct baseline --------------------------------------------------------------------


def _prepare(spin: bool) -> None:
    """A direct process as a Visor worker is set up: the allocator keeps a call's buffers
    for the next one; with ``spin``, sessions busy-wait between runs (onnxruntime's
    default) instead of Visor's ``allow_spinning=0``."""
    import onnxruntime as ort

    from app.inference import session as sessions
    from app.plugins.runtime.process.memory import keep_freed_memory

    keep_freed_memory()
    if not spin:
        return

    def spinning(threads: int) -> ort.SessionOptions:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        return options

    sessions.session_options = spinning


def _direct_loop(
    model: bytes,
    manifest: str,
    image: bytes,
    threads: int,
    spin: bool,
    seconds: float,
    out,
    ready,
) -> None:
    from app.models.manifest import Manifest
    from app.models.runtime import LoadedModel
    from app.plugins.builtin.pixels import to_rgb
    from app.plugins.images import open_image

    _prepare(spin)
    loaded = LoadedModel(Manifest.model_validate_json(manifest), model, threads=threads,
                         providers=["CPUExecutionProvider"])  # fmt: skip

    def call() -> None:
        loaded.infer(to_rgb(open_image(image)))

    for _ in range(3):
        call()
    ready.wait()  # every process warmed up (imports done) before any measures
    latencies: list[float] = []
    cpu_start = time.process_time()
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        begun = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - begun)
    out.put((len(latencies), time.perf_counter() - started, latencies,
             time.process_time() - cpu_start))  # fmt: skip


def direct(
    model: bytes,
    manifest: str,
    image: bytes,
    *,
    processes: int,
    threads: int,
    seconds: float,
    spin: bool = False,
) -> tuple[float, float]:
    """(calls/s over all processes, p50 seconds of the first)."""
    context = mp.get_context("spawn")
    queue = context.Queue()
    ready = context.Barrier(processes)
    workers = [
        context.Process(
            target=_direct_loop,
            args=(model, manifest, image, threads, spin, seconds, queue, ready),
        )
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=seconds + 120) for _ in workers]
    for worker in workers:
        worker.join()
    rate = sum(count / elapsed for count, elapsed, _, _ in results)
    return rate, statistics.median(results[0][2])


def _spaced_loop(model: bytes, manifest: str, image: bytes, threads: int, spin: bool, out) -> None:
    """CPU seconds per call when calls come 20 ms apart (idle time between calls)."""
    from app.models.manifest import Manifest
    from app.models.runtime import LoadedModel
    from app.plugins.builtin.pixels import to_rgb
    from app.plugins.images import open_image

    _prepare(spin)
    loaded = LoadedModel(Manifest.model_validate_json(manifest), model, threads=threads,
                         providers=["CPUExecutionProvider"])  # fmt: skip
    rgb = to_rgb(open_image(image))
    loaded.infer(rgb)
    calls = 40
    cpu = time.process_time()
    for _ in range(calls):
        loaded.infer(rgb)
        time.sleep(0.02)
    out.put((time.process_time() - cpu) / calls)


def spaced_cpu(model: bytes, manifest: str, image: bytes, threads: int, spin: bool) -> float:
    context = mp.get_context("spawn")
    queue = context.Queue()
    worker = context.Process(
        target=_spaced_loop, args=(model, manifest, image, threads, spin, queue)
    )
    worker.start()
    value = queue.get(timeout=300)
    worker.join()
    return float(value)


# -- Visor ----------------------------------------------------------------------------------


def sequential_p50(port: int, request: bytes, seconds: float) -> float:
    import socket

    latencies = []
    with socket.create_connection(("127.0.0.1", port)) as sock:
        reader = sock.makefile("rb")
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            begun = time.perf_counter()
            sock.sendall(request)
            length = 0
            status = int(reader.readline().split(b" ", 2)[1])
            while (line := reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            reader.read(length)
            if status != 200:
                raise RuntimeError(f"status {status}")
            latencies.append(time.perf_counter() - begun)
    return statistics.median(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=min(8, len(os.sched_getaffinity(0))))
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--manifest", type=Path)
    parser.add_argument(
        "--serving-only", action="store_true", help="skip the session sizing and spinning runs"
    )
    opts = parser.parse_args()

    from app.inference.session import available_cores, threads_per_worker

    if opts.model:
        model, manifest = opts.model.read_bytes(), json.loads(opts.manifest.read_text())
    else:
        model, manifest = generated_detector()
    manifest_json = json.dumps(manifest)
    image = photo_jpeg()
    cores = available_cores()
    threads = threads_per_worker(opts.workers, cores)
    print(f"{cores} cores, {opts.workers} workers x {threads} intra-op thread(s)")

    connections = (16, 64)
    modes = {"batched": "true", "unbatched": "false"}
    runs: dict[tuple[str, int], list[Run]] = {}
    direct_rates: list[float] = []
    with tempfile.TemporaryDirectory(prefix="visor-bench-models-") as tmp:
        servers = {}
        for mode, batching in modes.items():
            data_dir = Path(tmp) / mode
            model_dir = data_dir / "models"
            model_dir.mkdir(parents=True)
            (model_dir / f"{NAME}.onnx").write_bytes(model)
            (model_dir / f"{NAME}.json").write_text(manifest_json)
            servers[mode] = VisorServer(
                VISOR_DATA_DIR=str(data_dir),
                VISOR_PLUGINS_ALLOWLIST="image_info",
                VISOR_WORKERS_PER_PLUGIN=str(opts.workers),
                VISOR_WARM_WORKERS=str(opts.workers),
                VISOR_WORKER_QUEUE_SIZE="256",
                VISOR_AUTH="off",
                VISOR_BATCHING=batching,
            )
        try:
            for server in servers.values():
                server.wait_ready()
            body = {"plugin": NAME, "image": base64.b64encode(image).decode()}
            requests = {m: _request(s.port, "/v1/analyze", body) for m, s in servers.items()}
            for mode, server in servers.items():  # warm up
                asyncio.run(_drive(server.port, requests[mode], 2.0, max(connections)))
            names = list(servers)
            for round_no in range(opts.rounds):
                order = names if round_no % 2 == 0 else names[::-1]
                for c in connections:
                    for mode in order:
                        server = servers[mode]
                        run = drive(server.proc.pid, server.port, requests[mode], opts.seconds, c)
                        runs.setdefault((mode, c), []).append(run)
                limit, _ = direct(model, manifest_json, image, processes=opts.workers,
                                  threads=threads, seconds=opts.seconds)  # fmt: skip
                direct_rates.append(limit)
                print(f"round {round_no + 1}/{opts.rounds} done", flush=True)
            batched_port = servers["batched"].port
            visor_p50 = sequential_p50(batched_port, requests["batched"], opts.seconds)
        finally:
            for server in servers.values():
                server.stop()
    _, direct_p50 = direct(model, manifest_json, image, processes=1, threads=threads,
                           seconds=opts.seconds)  # fmt: skip
    sized = statistics.median(direct_rates)

    print(f"limit (direct, {opts.workers} processes): {sized:.1f}/s "
          f"(rounds {', '.join(f'{r:.1f}' for r in direct_rates)})")  # fmt: skip
    for c in connections:
        for mode in modes:
            ours = runs[(mode, c)]
            rates = [r.rps for r in ours]
            p99 = statistics.median(r.pct(0.99) for r in ours) * 1000
            print(f"c={c:<3} {mode:<10} {statistics.median(rates):7.1f}/s "
                  f"÷ limit {statistics.median(rates) / sized:5.2f} "
                  f"(rounds {', '.join(f'{r:.1f}' for r in rates)}), p99 {p99:.0f} ms, "
                  f"refused/errors {sum(r.refused + r.errors for r in ours)}")  # fmt: skip
        gain = statistics.median(r.rps for r in runs[("batched", c)]) / statistics.median(
            r.rps for r in runs[("unbatched", c)]
        )
        print(f"c={c:<3} batched ÷ unbatched throughput {gain:.2f}")
    print(f"sequential p50: Visor {visor_p50 * 1000:.1f} ms, direct {direct_p50 * 1000:.1f} ms, "
          f"ratio {visor_p50 / direct_p50:.2f} (target <= 1.1)")  # fmt: skip
    if opts.serving_only:
        return
    oversubscribed, _ = direct(model, manifest_json, image, processes=opts.workers,
                               threads=cores, seconds=opts.seconds, spin=True)  # fmt: skip
    cpu_quiet = spaced_cpu(model, manifest_json, image, cores, spin=False)
    cpu_spin = spaced_cpu(model, manifest_json, image, cores, spin=True)
    print(f"sizing: {opts.workers} processes x {threads} thread(s), no spinning {sized:.1f}/s "
          f"vs x {cores} thread(s) spinning (onnxruntime's defaults) {oversubscribed:.1f}/s, "
          f"ratio {sized / oversubscribed:.2f}")  # fmt: skip
    print(f"CPU per call ({cores} threads, calls 20 ms apart): no spinning "
          f"{cpu_quiet * 1000:.1f} ms, spinning {cpu_spin * 1000:.1f} ms, "
          f"ratio {cpu_spin / cpu_quiet:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
