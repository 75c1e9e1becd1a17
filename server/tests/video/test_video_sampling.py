"""The sampling rule and its cursor, the summary, and decoding with seeks, on real files."""

from __future__ import annotations

from pathlib import Path

import pytest
import videos
from pydantic import ValidationError

from app.errors import VisorError
from app.video.sampling import Sampled, Sampler, SampleRule
from app.video.source import VideoSource
from app.video.summary import SummaryBuilder


def _take_all(sampler: Sampler, frames: list[tuple[int, float]]) -> list[Sampled]:
    taken = []
    for frame, t_s in frames:
        if sampler.past_end(t_s):
            break
        sample = sampler.take(frame, t_s)
        if sample is not None:
            taken.append(sample)
    return taken


FRAMES_30FPS = [(n, n / 30) for n in range(300)]  # 10 s


@pytest.mark.parametrize(
    ("rule", "expected_t"),
    [
        ({"fps": 1}, [float(k) for k in range(10)]),
        ({"fps": 2, "start_s": 3, "end_s": 5}, [3.0, 3.5, 4.0, 4.5]),
        ({"every_n_frames": 75}, [0.0, 2.5, 5.0, 7.5]),
        ({"every_n_frames": 30, "start_s": 8.5}, [8.5, 9.5]),
        ({}, [float(k) for k in range(10)]),  # 1 fps by default
    ],
)
def test_rules_take_the_frames_they_say(rule: dict, expected_t: list[float]) -> None:
    taken = _take_all(Sampler(SampleRule.model_validate(rule)), FRAMES_30FPS)
    assert [s.t_s for s in taken] == pytest.approx(expected_t)
    assert [s.index for s in taken] == list(range(len(expected_t)))


def test_a_rate_above_the_video_rate_takes_each_frame_once() -> None:
    frames = [(n, n / 5) for n in range(10)]  # 5 fps video
    taken = _take_all(Sampler(SampleRule(fps=20)), frames)
    assert [s.frame for s in taken] == list(range(10))


@pytest.mark.parametrize("rule", [{"fps": 3}, {"every_n_frames": 7, "start_s": 1}])
def test_a_cursor_rebuilt_after_any_sample_continues_exactly(rule: dict) -> None:
    parsed = SampleRule.model_validate(rule)
    whole = _take_all(Sampler(parsed), FRAMES_30FPS)
    for cut in (0, 5, len(whole) - 2):
        last = whole[cut]
        rest = [f for f in FRAMES_30FPS if f[0] > last.frame]
        assert whole[: cut + 1] + _take_all(Sampler.after(parsed, last), rest) == whole


@pytest.mark.parametrize(
    "rule",
    [{"fps": 1, "every_n_frames": 2}, {"start_s": 4, "end_s": 2}, {"fps": 0}, {"fps": 1, "x": 1}],
)
def test_bad_rules_are_refused(rule: dict) -> None:
    with pytest.raises(ValidationError):
        SampleRule.model_validate(rule)


def test_estimates() -> None:
    assert SampleRule(fps=2).estimate(6.0, 10.0) == 12
    assert SampleRule(every_n_frames=5, end_s=3).estimate(6.0, 10.0) == 6
    assert SampleRule(fps=2).estimate(None, None) is None


def test_summary_values_and_counts() -> None:
    summary = SummaryBuilder()
    code = {"box": [0, 0, 5, 5], "text": "A", "format": "QRCode"}
    summary.add({"index": 0, "t_s": 0.0, "result": {"barcodes": [code], "faces": []}})
    summary.add({"index": 1, "t_s": 1.0, "result": {"barcodes": [code, code], "faces": []}})
    summary.add({"index": 2, "t_s": 2.0, "error": {"details": {"code": "tool_error"}}})
    summary.add(
        {"index": 3, "t_s": 3.0, "result": {"barcodes": [], "faces": [{"box": [1, 1, 2, 2]}]}}
    )
    built = summary.build()
    assert built["values"] == [
        {"text": "A", "format": "QRCode", "first_s": 0.0, "last_s": 1.0, "frames": 2}
    ]
    assert built["counts"]["barcodes"] == {
        "min": 0, "max": 2, "series": [[0.0, 1], [1.0, 2], [3.0, 0]]
    }  # fmt: skip
    assert built["counts"]["faces"]["series"] == [[0.0, 0], [3.0, 1]]
    assert (built["frames_ok"], built["frames_failed"]) == (3, 1)
    assert built["errors"] == {"tool_error": 1}


def test_resuming_by_seek_numbers_frames_as_decoding_from_the_start(video_dir: Path) -> None:
    """After a seek to a checkpointed frame, frame numbers and times match a full decode."""
    path = videos.plain_video(video_dir / "numbered.mp4", seconds=4, fps=30)
    with VideoSource(path, max_pixels=10**8) as source:
        whole = [(f.frame, f.pts, round(f.t_s, 6)) for f in source.frames()]
    assert [n for n, _, _ in whole] == list(range(120))
    frame, pts, _ = whole[77]
    assert pts is not None
    with VideoSource(path, max_pixels=10**8) as source:
        resumed = [(f.frame, f.pts, round(f.t_s, 6)) for f in source.frames(resume=(pts, frame))]
    assert resumed == whole[77:]


def test_the_pixel_limit_is_checked_when_probing(scripted_mp4: Path) -> None:
    with pytest.raises(VisorError) as caught:
        VideoSource(scripted_mp4, max_pixels=640 * 480 - 1)
    assert caught.value.details["limit_pixels"] == 640 * 480 - 1
