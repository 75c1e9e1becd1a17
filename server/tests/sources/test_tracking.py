"""Tracking, zones and lines on synthetic tracks: objects on known paths, exact counts."""

from __future__ import annotations

from app.sources.analytics import Analytics, AnalyticsSpec
from app.sources.tracking import Observation, Tracker, TrackerOptions


def _box(cx: float, cy: float, size: float = 40) -> list[float]:
    return [cx - size / 2, cy - size / 2, size, size]


def _frame(*regions: dict) -> dict:
    return {"objects": list(regions)}


def test_identities_survive_a_crossing() -> None:
    """Two same-class objects meet head-on and overlap; each keeps its own id."""
    tracker = Tracker()
    ids_a, ids_b = set(), set()
    for i in range(21):
        a = Observation(tuple(_box(20 + 10 * i, 100)), 0.9, "person")
        b = Observation(tuple(_box(220 - 10 * i, 108)), 0.9, "person")
        got = tracker.update([a, b])
        ids_a.add(got[0])
        ids_b.add(got[1])
    assert len(ids_a) == 1 and len(ids_b) == 1 and ids_a != ids_b


def test_weak_and_missing_detections_keep_the_track() -> None:
    """ByteTrack's second association: low-score frames and a short gap keep the id; a
    weak detection never starts a track."""
    tracker = Tracker(TrackerOptions(lost_frames=5))
    seen = []
    for i in range(30):
        confidence = 0.3 if 10 <= i < 13 else 0.9  # occluded for three frames: weak
        if 18 <= i < 22:  # gone for four frames
            seen.append(tracker.update([]))
            continue
        seen.append(tracker.update([Observation(tuple(_box(10 + 5 * i, 50)), confidence)]))
    ids = {s[0] for s in seen if s}
    assert ids == {1}
    assert tracker.update([Observation(tuple(_box(400, 400)), 0.3)]) == [None]


def test_a_track_lost_too_long_comes_back_new() -> None:
    tracker = Tracker(TrackerOptions(lost_frames=2))
    assert tracker.update([Observation((0, 0, 10, 10))]) == [1]
    for _ in range(3):
        tracker.update([])
    assert tracker.update([Observation((0, 0, 10, 10))]) == [2]


def test_line_counts_per_direction_and_class() -> None:
    spec = AnalyticsSpec.model_validate(
        {"lines": [{"name": "door", "start": [120, 0], "end": [120, 300]}], "anchor": "center"}
    )
    analytics = Analytics(spec)
    events = []
    for i in range(21):
        frame = _frame(
            {"box": _box(20 + 10 * i, 100), "label": "person", "confidence": 0.9},
            {"box": _box(220 - 10 * i, 200), "label": "car", "confidence": 0.9},
            {"box": _box(20 + 10 * i, 260), "label": "person", "confidence": 0.9},
        )
        section, frame_events = analytics.process(i * 0.5, frame)
        events += frame_events
    crossed = [e for e in events if e["type"] == "line_crossed"]
    assert len(crossed) == 3
    # a line drawn downwards: moving right crosses from its right to its left ("out")
    assert analytics.summary()["lines"]["door"] == {
        "in": {"car": 1},
        "out": {"person": 2},
        "total_in": 1,
        "total_out": 2,
    }
    assert section["lines"]["door"]["total_out"] == 2


def test_a_line_counts_only_moves_through_its_segment() -> None:
    spec = AnalyticsSpec.model_validate(
        {"lines": [{"name": "gate", "start": [100, 0], "end": [100, 50]}], "anchor": "center"}
    )
    analytics = Analytics(spec)
    for i in range(20):  # passes x = 100 at y = 200, below the gate
        analytics.process(float(i), _frame({"box": _box(10 * i, 200)}))
    assert analytics.summary()["lines"]["gate"]["total_in"] == 0
    assert analytics.summary()["lines"]["gate"]["total_out"] == 0


def test_time_in_zone_is_exact() -> None:
    """An object at 10 px per frame, frames 0.5 s apart, through a zone spanning x 105-195
    (90 px: 4.5 s): its centre is inside at x = 110 … 190 (frames 11-19); a visit runs from
    the first frame inside to the first frame outside (frame 20), so 4.5 s."""
    spec = AnalyticsSpec.model_validate(
        {
            "zones": [{"name": "bay", "polygon": [[105, 0], [195, 0], [195, 300], [105, 300]]}],
            "anchor": "center",
        }
    )
    analytics = Analytics(spec)
    events = []
    counts = []
    for i in range(30):
        section, frame_events = analytics.process(i * 0.5, _frame({"box": _box(10 * i, 150)}))
        events += frame_events
        counts.append(section["zones"]["bay"]["inside"])
    assert counts == [0] * 11 + [1] * 9 + [0] * 10
    kinds = [(e["type"], e["track_id"]) for e in events]
    assert kinds == [("zone_entered", 1), ("zone_left", 1)]
    assert events[1]["time_in_zone_s"] == 4.5
    summary = analytics.summary()["zones"]["bay"]
    assert summary == {"inside": 0, "max_inside": 1, "entries": 1, "time_in_zone_s": {"1": 4.5}}


def test_values_are_reported_once_and_regions_are_filtered_by_label() -> None:
    spec = AnalyticsSpec.model_validate({"labels": ["QRCode"]})
    analytics = Analytics(spec)
    first = analytics.process(
        0, {"barcodes": [{"box": [0, 0, 5, 5], "text": "A", "label": "QRCode"}]}
    )
    again = analytics.process(
        1, {"barcodes": [{"box": [0, 0, 5, 5], "text": "A", "label": "QRCode"}]}
    )
    other = analytics.process(2, {"barcodes": [{"box": [0, 0, 5, 5], "text": "B", "label": "EAN"}]})
    assert [e["text"] for e in first[1]] == ["A"]
    assert again[1] == [] and other[1] == []
