"""Accuracy of the built-in tools on pages and photos the repository ships or generates.

    python bench/accuracy.py [--repeat 3]
                             [--only ocr,ocr-rapid,barcode,faces,people,objects]

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
test samples) plus generated add-on and GS1 codes. Faces, people and objects: photos the
repository ships (OpenCV's samples) and scikit-image's, with hand-drawn boxes
(``server/tests/builtin/photos.py``); the previous default (Haar, HOG) is the first row and
the time base of each table. Times are CPU seconds of the calls in this process (the
sessions get one intra-op thread here, as in a worker on a 2-core machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
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
    upright_seconds: float = 0.0  # pages that are not turned: what most calls see
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
    Config(
        "previous default (rapidocr's order, as is, 960 px)",
        "ocr-rapid.read_text",
        {"order": "engine", "rotate": 0, "detection_size": 960},
    ),
    Config("Visor default (columns, rotate auto, detection size rule)", "ocr-rapid.read_text", {}),
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
            if doc.kind != "rotated":
                score.upright_seconds += best
            score.per_kind.setdefault(doc.kind, []).append(word_recall(doc.text, text))
            print(
                f"  {doc.name:24} {config.label[:44]:44} recall {score.recall[-1]:6.1%}  "
                f"CER {score.cer[-1]:6.1%}  {best * 1000:7.0f} ms",
                file=sys.stderr,
            )
    return scores


def text_table(title: str, scores: dict[str, Score], baseline: str, kinds: list[str]) -> str:
    base = scores[baseline].seconds
    base_upright = scores[baseline].upright_seconds
    head = (
        "| setting | word recall | CER | "
        + " | ".join(f"{k}" for k in kinds)
        + " | time, all pages | time, pages not turned |"
    )
    rows = [f"**{title}**", "", head, "|" + "---|" * (5 + len(kinds))]
    for label, score in scores.items():
        kind_cells = " | ".join(
            f"{statistics.mean(score.per_kind[k]):.0%}" if k in score.per_kind else "—"
            for k in kinds
        )
        rows.append(
            f"| {label} | {statistics.mean(score.recall):.1%} | "
            f"{statistics.mean(score.cer):.1%} | {kind_cells} | {score.seconds / base:.2f}x | "
            f"{score.upright_seconds / base_upright:.2f}x |"
        )
    return "\n".join(rows)


# -- barcodes -------------------------------------------------------------------------------

BARCODE_CONFIGS = (
    Config(
        "previous default (local average, add-ons ignored)",
        "barcode.read",
        {"binarizer": "local_average", "add_on": "ignore"},
    ),
    Config("binarizer global_histogram", "barcode.read", {"binarizer": "global_histogram"}),
    Config("Visor default (binarizer auto, add_on read)", "barcode.read", {}),
)


def barcode_cases() -> list[tuple[str, str, bytes, str, bytes | None]]:
    """(group, name, image bytes, mime type, expected bytes or None for "no code")."""
    import io
    import json

    import numpy as np
    import zxingcpp
    from PIL import Image

    data = ROOT / "server" / "tests" / "builtin" / "data" / "barcodes"
    cases = []
    for sample in json.loads((data / "manifest.json").read_text(encoding="utf-8")):
        name = sample["file"]
        mime = "image/webp" if name.endswith(".webp") else "image/png"
        expected = sample["expected_text"]
        if sample["format_folder"].startswith("falsepositives"):
            cases.append(("photos without codes", name, (data / name).read_bytes(), mime, None))
        elif expected is not None:
            group = "real photos and scans"
            cases.append((group, name, (data / name).read_bytes(), mime, expected.encode()))

    def render(content: str, fmt: str, **options: Any) -> bytes:
        code = zxingcpp.create_barcode(content, getattr(zxingcpp.BarcodeFormat, fmt), **options)
        page = Image.new("L", (700, 400), 255)
        page.paste(Image.fromarray(np.asarray(code.to_image(scale=3))), (50, 50))
        buffer = io.BytesIO()
        page.save(buffer, "PNG")
        return buffer.getvalue()

    for content, expected in (
        ("9780201310054 12345", "978020131005412345"),
        ("9781585730575 52495", "978158573057552495"),
        ("5901234123457 07", "590123412345707"),
        ("036000291452 12", "003600029145212"),
    ):
        fmt = "UPCA" if content.startswith("036") else "EAN13"
        cases.append(
            ("EAN/UPC with add-on", content, render(content, fmt), "image/png", expected.encode())
        )
    separated = (
        (
            "(01)09501101530003(10)AB-123(17)260704",
            "DataMatrix",
            {"gs1": True},
            b"0109501101530003" + b"10AB-123\x1d17260704",
        ),
        (
            "[)>\x1e06\x1dP12345\x1dQ10\x1e\x04",
            "DataMatrix",
            {},
            b"[)>\x1e06\x1dP12345\x1dQ10\x1e\x04",
        ),
        ("[)>\x1e06\x1dP12345\x1dQ10\x1e\x04", "PDF417", {}, b"[)>\x1e06\x1dP12345\x1dQ10\x1e\x04"),
    )
    for content, fmt, options, expected_bytes in separated:
        cases.append(
            (
                "GS/RS separated payloads",
                f"{fmt} {content[:12]!r}",
                render(content, fmt, **options),
                "image/png",
                expected_bytes,
            )
        )
    return cases


def bench_barcodes(repeat: int) -> str:
    import base64

    cases = barcode_cases()
    groups = list(dict.fromkeys(c[0] for c in cases))
    hits = {c.label: dict.fromkeys(groups, 0) for c in BARCODE_CONFIGS}
    seconds = dict.fromkeys(hits, 0.0)
    with PluginHarness("barcode") as harness:
        for group, _name, data, mime, expected in cases:
            for config in BARCODE_CONFIGS:
                best = float("inf")
                for _ in range(repeat):
                    started = time.process_time()
                    result = harness.call(
                        config.tool, image_payload(data, mime_type=mime, **config.args)
                    )
                    best = min(best, time.process_time() - started)
                seconds[config.label] += best
                codes = result["barcodes"]
                if expected is None:
                    hits[config.label][group] += not codes
                elif group == "GS/RS separated payloads":
                    hits[config.label][group] += any(
                        (
                            base64.b64decode(c["bytes"]) == expected
                            and c["text"].encode() != expected
                        )  # text alone cannot carry them
                        or c["text"].encode() == expected
                        for c in codes
                    )
                else:
                    hits[config.label][group] += any(c["text"].encode() == expected for c in codes)
    totals = {g: sum(1 for c in cases if c[0] == g) for g in groups}
    base = seconds[BARCODE_CONFIGS[0].label]
    rows = [
        "**barcode.read**",
        "",
        "| setting | " + " | ".join(f"{g} ({totals[g]})" for g in groups) + " | time |",
        "|" + "---|" * (len(groups) + 2),
    ]
    for label, per_group in hits.items():
        cells = " | ".join(f"{per_group[g]}/{totals[g]}" for g in groups)
        rows.append(f"| {label} | {cells} | {seconds[label] / base:.2f}x |")
    return "\n".join(rows)


# -- detectors ------------------------------------------------------------------------------

PEOPLE_CONFIGS = (
    Config(
        "previous default: hog (upscale 1.5, min_score 1)", "people.detect", {"detector": "hog"}
    ),
    Config("hog, upscale 1, min_score 1", "people.detect", {"detector": "hog", "upscale": 1.0}),
    Config(
        "hog daimler, upscale 1.5, min_score 2",
        "people.detect",
        {"detector": "hog", "model": "daimler", "min_score": 2.0},
    ),
    Config("Visor default: nanodet (min_score 0.4)", "people.detect", {}),
    Config("nanodet, min_score 0.5", "people.detect", {"min_score": 0.5}),
    Config("people.pose: movenet (min_score 0.15)", "people.pose", {}),
    Config("people.pose: movenet, min_score 0.25", "people.pose", {"min_score": 0.25}),
)

FACES_CONFIGS = (
    Config("previous default: haar frontal", "faces.detect", {"detector": "haar"}),
    Config("haar frontal_alt2", "faces.detect", {"detector": "haar", "model": "frontal_alt2"}),
    Config("haar frontal, min_score 2", "faces.detect", {"detector": "haar", "min_score": 2.0}),
    Config("Visor default: mtcnn (min_size 30)", "faces.detect", {}),
    Config("mtcnn, min_size 20", "faces.detect", {"min_size": 20}),
    Config("blazeface (back 256)", "faces.detect", {"detector": "blazeface"}),
    Config(
        "blazeface, min_score 0.85", "faces.detect", {"detector": "blazeface", "min_score": 0.85}
    ),
)

OBJECTS_CONFIGS = (
    Config("Visor default: nanodet (min_score 0.4)", "objects.detect", {}),
    Config("nanodet, min_score 0.3", "objects.detect", {"min_score": 0.3}),
    Config("nanodet, min_score 0.5", "objects.detect", {"min_score": 0.5}),
)


def bench_detector(
    plugin: str,
    key: str,
    configs: tuple[Config, ...],
    positives: list[Any],
    negatives: list[Any],
    repeat: int,
) -> str:
    from photos import match

    wanted = sum(len(p.boxes) for p in positives)
    rows = [
        f"**{plugin}.detect** ({len(positives)} photos with {wanted} marked, "
        f"{len(negatives)} without; a hit is IoU >= 0.5)",
        "",
        "| setting | found | false hits (photos with / without) | time |",
        "|---|---|---|---|",
    ]
    base = None
    with PluginHarness(plugin) as harness:
        for config in configs:
            found = false_with = false_without = 0
            seconds = 0.0
            for photo in positives + negatives:
                best = float("inf")
                for _ in range(repeat):
                    started = time.process_time()
                    result = harness.call(config.tool, image_payload(photo.image, **config.args))
                    best = min(best, time.process_time() - started)
                seconds += best
                boxes = [tuple(r["box"]) for r in result[key]]
                tp, fp = match(photo.boxes, boxes)
                found += tp
                if photo.boxes:
                    false_with += fp
                else:
                    false_without += fp
            base = base or seconds
            rows.append(
                f"| {config.label} | {found}/{wanted} | {false_with} / {false_without} "
                f"| {seconds / base:.2f}x |"
            )
    return "\n".join(rows)


def faces_photos() -> tuple[list[Any], list[Any]]:
    from photos import face_photos, photos_without_people

    return face_photos(), photos_without_people()


def bench_objects(repeat: int) -> str:
    """Like :func:`bench_detector`, but a hit must also carry the marked COCO label."""
    from photos import iou, object_photos, people_photos, photos_without_people

    marked = [(p, labels, False) for p, labels in object_photos()]
    # OpenCV's frames have only their people marked: other classes found there are not scored.
    marked += [(p, ["person"] * len(p.boxes), True) for p in people_photos()]
    negatives = [p for p in photos_without_people() if p.name == "rocket"]
    wanted = sum(len(p.boxes) for p, _, _ in marked)
    rows = [
        f"**objects.detect** ({len(marked)} photos with {wanted} marked objects of 6 COCO "
        f"classes, {len(negatives)} without; a hit is the right label at IoU >= 0.5; on the "
        "OpenCV frames only people are scored)",
        "",
        "| setting | found | false hits (photos with / without) | time |",
        "|---|---|---|---|",
    ]
    base = None
    with PluginHarness("objects") as harness:
        for config in OBJECTS_CONFIGS:
            found = false_with = false_without = 0
            seconds = 0.0
            for photo, labels, people_only in [*marked, *((n, [], False) for n in negatives)]:
                best = float("inf")
                for _ in range(repeat):
                    started = time.process_time()
                    result = harness.call(config.tool, image_payload(photo.image, **config.args))
                    best = min(best, time.process_time() - started)
                seconds += best
                unused = list(zip(labels, photo.boxes, strict=True))
                for obj in result["objects"]:
                    if people_only and obj["label"] != "person":
                        continue
                    same = [u for u in unused if u[0] == obj["label"]]
                    match = max(same, key=lambda u: iou(u[1], tuple(obj["box"])), default=None)
                    if match is not None and iou(match[1], tuple(obj["box"])) >= 0.5:
                        unused.remove(match)
                        found += 1
                    elif photo.boxes:
                        false_with += 1
                    else:
                        false_without += 1
            base = base or seconds
            rows.append(
                f"| {config.label} | {found}/{wanted} | {false_with} / {false_without} "
                f"| {seconds / base:.2f}x |"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="calls per page; fastest counts")
    parser.add_argument("--only", default="ocr,ocr-rapid,barcode,faces,people,objects")
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
    if "barcode" in only:
        out.append(bench_barcodes(args.repeat))
    if "faces" in only:
        positives, negatives = faces_photos()
        out.append(
            bench_detector("faces", "faces", FACES_CONFIGS, positives, negatives, args.repeat)
        )
    if "people" in only:
        from photos import people_photos, photos_without_people

        out.append(
            bench_detector(
                "people",
                "people",
                PEOPLE_CONFIGS,
                people_photos(),
                photos_without_people(),
                args.repeat,
            )
        )
    if "objects" in only:
        out.append(bench_objects(args.repeat))
    if "ocr-rapid" in only:
        with PluginHarness("ocr-rapid") as harness:
            scores = bench_text(harness, RAPID_CONFIGS, docs, args.repeat)
        out.append(text_table("ocr-rapid.read_text", scores, RAPID_CONFIGS[0].label, kinds))
    print(f"\n(load average {load:.1f} → {os.getloadavg()[0]:.1f})\n")
    print("\n\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
