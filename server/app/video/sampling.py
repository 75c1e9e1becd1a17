"""The sampling rule (which frames of a video run through the tool) and its cursor.

A rule takes frames at a rate (``fps``) or every n-th decoded frame (``every_n_frames``)
between ``start_s`` and ``end_s``. The :class:`Sampler` decides frame by frame while the
video decodes; it can be rebuilt from the last checkpointed frame, which is how a resumed
job continues exactly where the previous attempt stopped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Frames closer than this to a target time count as on it (float timestamps).
_EPSILON_S = 1e-6


class SampleRule(BaseModel):
    """Which frames to run: ``fps`` or ``every_n_frames`` (not both; 1 fps if neither)."""

    model_config = ConfigDict(extra="forbid")

    fps: float | None = Field(
        None, gt=0, le=240, description="Frames per second of video time to take."
    )
    every_n_frames: int | None = Field(
        None, ge=1, le=1_000_000, description="Take every n-th decoded frame (1: all)."
    )
    start_s: float = Field(0.0, ge=0, description="Start of the range, seconds of video time.")
    end_s: float | None = Field(
        None, gt=0, description="End of the range (exclusive); the end of the video if null."
    )

    @model_validator(mode="after")
    def _one_rule(self) -> SampleRule:
        if self.fps is not None and self.every_n_frames is not None:
            raise ValueError("give fps or every_n_frames, not both")
        if self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError("end_s must be after start_s")
        return self

    @property
    def rate(self) -> float | None:
        """Samples per second of video time (the default when no rule is given is 1)."""
        if self.every_n_frames is not None:
            return None
        return self.fps if self.fps is not None else 1.0

    def estimate(self, duration_s: float | None, video_fps: float | None) -> int | None:
        """How many frames this rule will take from a video (for progress); None if unknown."""
        if duration_s is None or duration_s <= 0:
            return None
        end = min(self.end_s, duration_s) if self.end_s is not None else duration_s
        span = max(0.0, end - self.start_s)
        if self.rate is not None:
            return math.ceil(span * self.rate - _EPSILON_S)
        if not video_fps:
            return None
        assert self.every_n_frames is not None
        return math.ceil(span * video_fps / self.every_n_frames - _EPSILON_S)


@dataclass(frozen=True)
class Sampled:
    """A frame the rule takes: its sample index, decoded frame number and time."""

    index: int
    frame: int
    t_s: float


class Sampler:
    """Decides, frame by frame in presentation order, which frames the rule takes.

    ``index`` counts the samples taken so far; ``next_frame`` / ``next_t`` are the
    every-n and fps cursors. :meth:`after` rebuilds the cursor from the last sample taken.
    """

    def __init__(
        self,
        rule: SampleRule,
        *,
        index: int = 0,
        next_frame: int | None = None,
        next_t: float | None = None,
    ) -> None:
        self._rule = rule
        self.index = index
        self._next_frame = next_frame  # every_n_frames: the next frame number to take
        self._next_t = rule.start_s if next_t is None else next_t  # fps: next target time

    @classmethod
    def after(cls, rule: SampleRule, last: Sampled) -> Sampler:
        """The cursor just after ``last`` (a resumed job's starting point)."""
        if rule.rate is not None:
            step = 1.0 / rule.rate
            k = math.floor((last.t_s - rule.start_s) / step + _EPSILON_S) + 1
            return cls(rule, index=last.index + 1, next_t=rule.start_s + k * step)
        assert rule.every_n_frames is not None
        return cls(rule, index=last.index + 1, next_frame=last.frame + rule.every_n_frames)

    def past_end(self, t_s: float) -> bool:
        return self._rule.end_s is not None and t_s >= self._rule.end_s - _EPSILON_S

    def take(self, frame: int, t_s: float) -> Sampled | None:
        """The sample if the rule takes this frame, else None (call in presentation order)."""
        if t_s < self._rule.start_s - _EPSILON_S or self.past_end(t_s):
            return None
        rate = self._rule.rate
        if rate is not None:
            if t_s < self._next_t - _EPSILON_S:
                return None
            step = 1.0 / rate
            # Skip every target this frame already covers (a video slower than the rate).
            k = math.floor((t_s - self._rule.start_s) / step + _EPSILON_S) + 1
            self._next_t = self._rule.start_s + k * step
        else:
            if self._next_frame is None:
                self._next_frame = frame  # the first frame in range
            if frame < self._next_frame:
                return None
            assert self._rule.every_n_frames is not None
            self._next_frame = frame + self._rule.every_n_frames
        sample = Sampled(self.index, frame, t_s)
        self.index += 1
        return sample
