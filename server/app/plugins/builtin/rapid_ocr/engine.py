"""The rapidocr engine: PP-OCR detection, orientation and recognition on onnxruntime.

Detection runs with ``limit_type=max``: the longest side is scaled down to the detection
size (960 px unless the caller or the plugin's size rule asks for more). rapidocr's default
upsamples the *shorter* side to 736 px, which makes a wide 800x140 text strip a 4200x736
tensor and costs seconds per call. ONNX Runtime gets one intra-op thread per worker, for the same
reason Tesseract does (see ``ocr.engine``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.plugins.builtin.rapid_ocr.bundle import BundledModels, forbid_downloads
from app.plugins.vocabulary import box_around

DETECTION_MAX_SIDE = 960
#: rapidocr first shrinks any image to this longest side (its own default), then detects.
PREPROCESS_MAX_SIDE = 2000


@dataclass(frozen=True)
class RapidWordResult:
    text: str
    confidence: float
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class RapidLineResult:
    text: str
    confidence: float
    polygon: list[tuple[int, int]]
    words: list[RapidWordResult] | None


class RapidEngine:
    def __init__(self, models: BundledModels) -> None:
        self._models = models
        self._engine: Any = None
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        return self._engine is not None

    def start(self) -> None:
        forbid_downloads()
        from rapidocr import RapidOCR

        models = self._models
        params = {
            "Global.log_level": "error",
            "Global.model_root_dir": str(models.directory),
            "Det.model_path": str(models.det),
            "Cls.model_path": str(models.cls),
            "Rec.model_path": str(models.rec),
            "Det.limit_type": "max",
            "Det.limit_side_len": DETECTION_MAX_SIDE,
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        engine = RapidOCR(params=params)
        # rapidocr builds its three sessions lazily; a blank warm-up call builds them now,
        # in startup, so the first real call is not slow and a broken model fails early.
        engine(np.full((64, 256, 3), 255, dtype=np.uint8), use_cls=True)
        self._engine = engine

    def read(
        self,
        bgr: np.ndarray,
        *,
        min_score: float,
        use_cls: bool,
        words: bool,
        detection_side: int = DETECTION_MAX_SIDE,
    ) -> list[RapidLineResult]:
        with self._lock:
            engine = self._engine
            # rapidocr reads both sizes on every call; set them for this call only.
            engine.text_det.limit_side_len = detection_side
            engine.max_side_len = max(PREPROCESS_MAX_SIDE, detection_side)
            out = engine(bgr, use_cls=use_cls, return_word_box=words, text_score=min_score)
        texts = getattr(out, "txts", None)
        boxes = getattr(out, "boxes", None)
        if not texts or boxes is None:
            return []
        scores = list(getattr(out, "scores", None) or [1.0] * len(texts))
        word_results = list(getattr(out, "word_results", None) or []) if words else []
        lines = []
        for index, (text, score, quad) in enumerate(zip(texts, scores, boxes, strict=False)):
            polygon = [(round(float(x)), round(float(y))) for x, y in quad]
            line_words = None
            if words and index < len(word_results):
                line_words = [_word(item) for item in word_results[index] if _valid_word(item)]
            lines.append(RapidLineResult(str(text), _unit(score), polygon, line_words))
        return lines


def _valid_word(item: Any) -> bool:
    return isinstance(item, tuple | list) and len(item) == 3 and bool(item[2])


def _word(item: Any) -> RapidWordResult:
    text, score, quad = item
    points = [(float(x), float(y)) for x, y in quad]
    return RapidWordResult(str(text), _unit(score), box_around(points))


def _unit(score: Any) -> float:
    return round(min(1.0, max(0.0, float(score))), 4)
