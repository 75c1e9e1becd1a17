"""Per-plugin latency and 1-vs-2-worker throughput of the built-in plugins.

    python bench/plugins.py [--calls 20]
                            [--plugins ocr,barcode,faces,people,objects,image_info,ocr-rapid]

For each plugin, on a standard image set the script generates itself:

* latency (median, p95) of one call through the real ToolRunner (PluginHarness: input and
  output schema validation, base64 decode, metrics), and the same handler called directly
  in the same run (the baseline), so the ratio is Visor's overhead;
* throughput (calls/s) with 1 and 2 worker processes, each of which loads the plugin from
  its entry point once (startup hook) and serves calls, like the process executor's
  workers. The 2/1 ratio shows how a plugin scales with workers on this machine.

Numbers are for this machine only; compare ratios, not absolute values.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from app.plugins.base import ToolContext
from app.plugins.testing import PluginHarness, image_payload

TEXT = (
    "Visor runs vision tools offline through one governed path.",
    "Invoice 4821: three boxes of screws, paid on 12 March 2026.",
    "The quick brown fox jumps over the lazy dog, again and again.",
)


def document() -> Image.Image:
    """A 1000x700 page of 15 printed lines at 22 px."""
    page = Image.new("RGB", (1000, 700), "white")
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=22)
    for row in range(15):
        draw.text((40, 30 + row * 42), TEXT[row % len(TEXT)], font=font, fill="black")
    return page


def codes() -> Image.Image:
    """An 800x600 page with a QR code, an EAN-13 and a Code128."""
    import zxingcpp

    page = Image.new("L", (800, 600), 255)
    items = (("QRCode", "https://visor.example/1", (40, 40)), ("EAN13", "5901234123457", (400, 40)))
    for fmt, text, at in (*items, ("Code128", "VISOR-BENCH-128", (40, 360))):
        symbol = zxingcpp.create_barcode(text, getattr(zxingcpp.BarcodeFormat, fmt))
        page.paste(Image.fromarray(np.asarray(symbol.to_image(scale=3))), at)
    return page


def portrait() -> Image.Image:
    """scikit-image's astronaut (512x512, one face); shapes if scikit-image is missing."""
    try:
        from skimage import data

        return Image.fromarray(data.astronaut())
    except ImportError:
        image = Image.new("RGB", (512, 512), (120, 140, 160))
        ImageDraw.Draw(image).ellipse((150, 100, 350, 350), fill=(220, 180, 150))
        return image


def photo() -> Image.Image:
    """A 1024x768 noisy colour gradient, JPEG-like content for image_info."""
    rng = np.random.default_rng(7)
    base = np.linspace(0, 255, 1024, dtype=np.float32)[None, :, None]
    pixels = base + rng.normal(0, 20, (768, 1024, 3)).astype(np.float32)
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def walkway() -> Image.Image:
    """A 768x576 frame of OpenCV's vtest.avi (six people), shipped as test data."""
    frame = Path(__file__).resolve().parents[1] / "server/tests/builtin/data/people"
    return Image.open(frame / "vtest-frame600.jpg").convert("RGB")


#: plugin → (tool, image factory, encoding, extra args)
CASES: dict[str, tuple[str, Any, str, dict[str, Any]]] = {
    "image_info": ("describe", photo, "JPEG", {}),
    "barcode": ("read", codes, "PNG", {}),
    "faces": ("detect", portrait, "JPEG", {}),
    "people": ("detect", walkway, "JPEG", {}),
    "objects": ("detect", walkway, "JPEG", {}),
    "ocr": ("read_text", document, "PNG", {}),
    "ocr-rapid": ("read_text", document, "PNG", {}),
}


def payload_for(plugin: str) -> dict[str, Any]:
    _tool, factory, fmt, extra = CASES[plugin]
    return image_payload(factory(), image_format=fmt, **extra)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency(plugin: str, calls: int) -> dict[str, float] | None:
    tool, *_ = CASES[plugin]
    payload = payload_for(plugin)
    with PluginHarness(plugin) as harness:
        if harness.state(plugin) == "UNAVAILABLE":
            print(f"  {plugin}: UNAVAILABLE ({harness.reason(plugin)})")
            return None
        harness.call(plugin, payload, tool)  # startup + warm-up
        via_runner = []
        for _ in range(calls):
            started = time.perf_counter()
            harness.call(plugin, payload, tool)
            via_runner.append((time.perf_counter() - started) * 1000)
        # Baseline: the same handler on a started instance of the same class, called
        # directly (no schema checks, no base64 decode, no metrics).
        record = harness.registry.get(plugin)
        assert record is not None and record.plugin_cls is not None
        instance = record.plugin_cls()
        instance.startup()
        spec = type(instance).tool_specs()[tool]
        ctx = ToolContext(plugin=plugin, tool=tool)
        direct = []
        for _ in range(calls):
            started = time.perf_counter()
            spec.bind(instance, payload, ctx)
            direct.append((time.perf_counter() - started) * 1000)
    return {
        "median": statistics.median(via_runner),
        "p95": percentile(via_runner, 0.95),
        "direct": statistics.median(direct),
    }


# -- throughput with N worker processes -------------------------------------------------------

_worker: dict[str, Any] = {}


def _init(plugin: str) -> None:
    harness = PluginHarness(plugin).__enter__()
    _worker.update(harness=harness, plugin=plugin, payload=payload_for(plugin))
    harness.call(plugin, _worker["payload"], CASES[plugin][0])  # startup in the worker


def _one(_: int) -> bool:
    plugin = _worker["plugin"]
    _result, error = _worker["harness"].run(plugin, _worker["payload"], CASES[plugin][0])
    return not error


def throughput(plugin: str, workers: int, calls: int) -> float:
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers, initializer=_init, initargs=(plugin,)) as pool:
        pool.map(_one, range(workers), chunksize=1)  # every worker warm before timing
        started = time.perf_counter()
        ok = pool.map(_one, range(calls), chunksize=1)
        elapsed = time.perf_counter() - started
    assert all(ok), f"{plugin}: some calls failed"
    return calls / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20, help="latency samples per plugin")
    parser.add_argument("--plugins", default=",".join(CASES))
    args = parser.parse_args()
    plugins = [p for p in args.plugins.split(",") if p]
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"cpus={os.cpu_count()} calls={args.calls} load average before: {load}")
    rows = []
    for plugin in plugins:
        lat = latency(plugin, args.calls)
        if lat is None:
            continue
        n = max(8, min(40, int(4000 / max(lat["median"], 1.0))))  # ~4 s of work at 1 worker
        one = throughput(plugin, 1, n)
        two = throughput(plugin, 2, n)
        rows.append((plugin, CASES[plugin][0], lat, one, two))
        print(f"  {plugin}: done")
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average after: {load} (other processes on the machine skew the 2w/1w ratio)")
    print()
    print(
        "| plugin.tool | image | median ms | p95 ms | direct ms | overhead "
        "| 1 worker/s | 2 workers/s | 2w/1w |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    sizes = {
        "image_info": "1024x768 JPEG",
        "barcode": "800x600, 3 codes",
        "faces": "512x512 photo",
        "people": "768x576 street frame",
        "objects": "768x576 street frame",
        "ocr": "1000x700, 15 lines",
        "ocr-rapid": "1000x700, 15 lines",
    }
    for plugin, tool, lat, one, two in rows:
        print(
            f"| {plugin}.{tool} | {sizes[plugin]} | {lat['median']:.1f} | {lat['p95']:.1f} | "
            f"{lat['direct']:.1f} | {lat['median'] / lat['direct']:.2f}x | {one:.1f} | {two:.1f} | "
            f"{two / one:.2f}x |"
        )


if __name__ == "__main__":
    main()
