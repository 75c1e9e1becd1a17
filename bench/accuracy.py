"""Accuracy of the built-in tools on pages and photos the repository ships or generates.

    python bench/accuracy.py [--repeat 3] [--only ocr,ocr-rapid,barcode,faces,people]
                             [--markdown]

Every number comes from calls through the real ToolRunner (PluginHarness), with the exact
settings printed beside it. For OCR each configuration reads every page of the corpus in
``server/tests/builtin/documents.py`` (real scans: Tesseract's phototest page turned three
ways, scikit-image's unevenly lit ``page()``; generated: a letter, two- and three-column
pages, shaded pages, a page photographed at an angle, a turned page, a 3600 px page) and
is scored by word recall and character error rate (CER, which also punishes a wrong
reading order). Latency is the total time over the corpus as a ratio to the baseline
configuration (the engine's previous default) measured in the same run, interleaved page
by page so that load from other processes hits every configuration alike.

Barcodes: the real photos shipped in ``server/tests/builtin/data/barcodes`` (zxing-cpp's
test samples) plus generated add-on and GS1 codes. Faces and people: scikit-image photos
with hand-drawn boxes. ``--markdown`` prints the tables as they appear in docs/plugins.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "server"), str(ROOT / "server" / "tests" / "builtin")]

from documents import Document, cer, corpus, word_recall  # noqa: E402

from app.plugins.testing import PluginHarness, image_payload  # noqa: E402


@dataclass
class Score:
    recall: list[float] = field(default_factory=list)
    cer: list[float] = field(default_factory=list)
    seconds: float = 0.0
    per_kind: dict[str, list[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    label: str
    tool: str
    args: dict[str, Any]


OCR_CONFIGS = (
    Config("previous default (psm 3, as is)", "ocr.read_text", {"rotate": 0, "background": "keep"}),
    Config(
        "psm 1 (Tesseract's orientation detection)",
        "ocr.read_text",
        {"rotate": 0, "background": "keep", "psm": 1},
    ),
    Config(
        "thresholding_method 2 (Sauvola)",
        "ocr.read_text",
        {"rotate": 0, "background": "keep", "variables": {"thresholding_method": 2}},
    ),
    Config("Visor default (rotate auto, background auto)", "ocr.read_text", {}),
)

RAPID_CONFIGS = (
    Config("ocr-rapid, rapidocr's line order", "ocr-rapid.read_text", {"order": "engine"}),
    Config("ocr-rapid default (column order)", "ocr-rapid.read_text", {}),
)


def _time(harness: PluginHarness, config: Config, doc: Document) -> tuple[str, float]:
    payload = image_payload(doc.image, **config.args)
    started = time.process_time()
    result = harness.call(config.tool, payload)
    return result["text"], time.process_time() - started


def bench_text(
    harness: PluginHarness, configs: tuple[Config, ...], docs: list[Document], repeat: int
) -> dict[str, Score]:
    scores = {c.label: Score() for c in configs}
    for doc in docs:
        for config in configs:
            text, best = "", float("inf")
            for _ in range(repeat):
                text, seconds = _time(harness, config, doc)
                best = min(best, seconds)
            score = scores[config.label]
            score.recall.append(word_recall(doc.text, text))
            score.cer.append(cer(doc.text, text))
            score.seconds += best
            score.per_kind.setdefault(doc.kind, []).append(word_recall(doc.text, text))
            print(
                f"  {doc.name:24} {config.label[:44]:44} recall {score.recall[-1]:6.1%}  "
                f"CER {score.cer[-1]:6.1%}  {best * 1000:7.0f} ms",
                file=sys.stderr,
            )
    return scores


def text_table(title: str, scores: dict[str, Score], baseline: str, kinds: list[str]) -> str:
    base = scores[baseline].seconds
    head = "| setting | word recall | CER | " + " | ".join(f"{k}" for k in kinds) + " | time |"
    rows = [f"**{title}**", "", head, "|" + "---|" * (4 + len(kinds))]
    for label, score in scores.items():
        kind_cells = " | ".join(
            f"{statistics.mean(score.per_kind[k]):.0%}" if k in score.per_kind else "—"
            for k in kinds
        )
        rows.append(
            f"| {label} | {statistics.mean(score.recall):.1%} | "
            f"{statistics.mean(score.cer):.1%} | {kind_cells} | {score.seconds / base:.2f}x |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="calls per page; fastest counts")
    parser.add_argument("--only", default="ocr,ocr-rapid,barcode,faces,people")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    docs = corpus(with_large=True)
    kinds = list(dict.fromkeys(d.kind for d in docs))
    load = os.getloadavg()[0]
    print(f"# {len(docs)} pages; load average {load:.1f}", file=sys.stderr)
    out: list[str] = []
    if "ocr" in only:
        with PluginHarness("ocr") as harness:
            scores = bench_text(harness, OCR_CONFIGS, docs, args.repeat)
        out.append(text_table("ocr.read_text", scores, OCR_CONFIGS[0].label, kinds))
    if "ocr-rapid" in only:
        with PluginHarness("ocr-rapid") as harness:
            scores = bench_text(harness, RAPID_CONFIGS, docs, args.repeat)
        out.append(text_table("ocr-rapid.read_text", scores, RAPID_CONFIGS[0].label, kinds))
    print(f"\n(load average {load:.1f} → {os.getloadavg()[0]:.1f})\n")
    print("\n\n".join(out))
    return 0


Runner = Callable[[], None]

if __name__ == "__main__":
    raise SystemExit(main())
