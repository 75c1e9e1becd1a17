"""The summary of a video job, built from the shared result vocabulary while frames arrive.

It needs no knowledge of the tool: every region (a dict with a ``box``) carrying a
``text`` is a value seen (a barcode, a line of text), reported with the first and last time
it was seen and in how many frames; every list of regions (``faces``, ``barcodes``,
``steps.faces.faces`` in a pipeline) is counted per frame, reported as min/max and as a
series of ``[t_s, count]`` points where the count changes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from app.plugins.vocabulary import regions


@dataclass
class _Seen:
    text: str
    format: str | None
    first_s: float
    last_s: float
    frames: int = 1


@dataclass
class _Count:
    min: int
    max: int
    series: list[list[float]] = field(default_factory=list)

    def add(self, t_s: float, n: int) -> None:
        self.min, self.max = min(self.min, n), max(self.max, n)
        if not self.series or self.series[-1][1] != n:
            self.series.append([t_s, n])


class SummaryBuilder:
    def __init__(self) -> None:
        self._values: dict[tuple[str | None, str], _Seen] = {}
        self._counts: dict[str, _Count] = {}
        self._frames = 0
        self._first_s = 0.0
        self._errors: Counter[str] = Counter()

    def add(self, entry: dict[str, Any]) -> None:
        """Fold one frame's entry (``{index, t_s, result | error}``) into the summary."""
        t_s = float(entry["t_s"])
        error = entry.get("error")
        if error is not None:
            self._errors[str(error.get("details", {}).get("code", "error"))] += 1
            return
        result = entry.get("result") or {}
        if not self._frames:
            self._first_s = t_s
        counts: dict[str, int] = {}
        _count_lists(result, "", counts)
        for path in set(self._counts) | set(counts):
            n = counts.get(path, 0)
            if path not in self._counts:
                self._counts[path] = _Count(n, n)
                if self._frames:  # absent so far: it was 0 before
                    self._counts[path] = _Count(0, n, [[self._first_s, 0]])
            self._counts[path].add(t_s, n)
        seen_here: set[tuple[str | None, str]] = set()
        for region in regions(result):
            text = region.get("text")
            if not isinstance(text, str) or not text:
                continue
            fmt = region.get("format") if isinstance(region.get("format"), str) else None
            key = (fmt, text)
            if key in seen_here:
                continue
            seen_here.add(key)
            seen = self._values.get(key)
            if seen is None:
                self._values[key] = _Seen(text, fmt, t_s, t_s)
            else:
                seen.last_s = t_s
                seen.frames += 1
        self._frames += 1

    def build(self) -> dict[str, Any]:
        values = sorted(self._values.values(), key=lambda s: (s.first_s, s.text))
        return {
            "frames_ok": self._frames,
            "frames_failed": sum(self._errors.values()),
            "errors": dict(self._errors),
            "values": [
                {
                    "text": s.text,
                    "format": s.format,
                    "first_s": round(s.first_s, 3),
                    "last_s": round(s.last_s, 3),
                    "frames": s.frames,
                }
                for s in values
            ],
            "counts": {
                path: {
                    "min": c.min,
                    "max": c.max,
                    "series": [[round(t, 3), int(n)] for t, n in c.series],
                }
                for path, c in sorted(self._counts.items())
            },
        }


def _count_lists(value: Any, path: str, counts: dict[str, int]) -> None:
    """Count the lists of regions in a result, by their dotted path."""
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        where = f"{path}.{key}" if path else str(key)
        if isinstance(item, list):
            if any(isinstance(x, dict) and "box" in x for x in item) or (
                not item and key in _REGION_LISTS
            ):
                counts[where] = len(item)
        elif isinstance(item, dict):
            _count_lists(item, where, counts)


#: Lists that hold regions even when empty (so "0 faces" is counted, not missing).
_REGION_LISTS = {"faces", "people", "barcodes", "lines", "words", "blocks", "regions"}
