"""Tracking: a stable ``track_id`` for the detections of successive frames.

A ByteTrack-style tracker (Zhang et al., 2022), written for Visor's result vocabulary
instead of taken from a library: ``supervision`` (the well-kept packaging of ByteTrack)
pulls in ``matplotlib``, ``scipy`` and the GUI build of ``opencv-python``, which would
clash with Visor's ``opencv-python-headless``. What it keeps of ByteTrack:

- two associations per frame: confident detections first, against every live track; then
  the weak ones (below ``high_confidence``) only against tracks still unmatched, so an
  occluded object keeps its identity through a few low-score frames instead of being
  dropped or starting a new track;
- tracks predicted forward with their velocity before matching (a constant-velocity
  model in place of the Kalman filter), so two objects that cross keep their own ids;
- a lost track is kept ``lost_frames`` frames and can be found again; only confident
  unmatched detections start new tracks.

Matching is greedy by IoU of the predicted box (highest first, same ``label`` only), the
choice most trackers make in practice for a handful of objects per frame.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from app.plugins.vocabulary import iou

BoxF = tuple[float, float, float, float]


class TrackerOptions(BaseModel):
    """How detections are followed from frame to frame."""

    model_config = ConfigDict(extra="forbid")

    high_confidence: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Detections at or above this start tracks and match first.",
    )
    min_confidence: float = Field(
        default=0.1, ge=0, le=1, description="Detections below this are ignored."
    )
    match_iou: float = Field(
        default=0.2, gt=0, le=1, description="Least IoU between a predicted track and a detection."
    )
    lost_frames: int = Field(
        default=30, ge=0, le=10_000, description="Frames a track survives unmatched before it ends."
    )


@dataclass(frozen=True)
class Observation:
    """One detection of one frame, as the tracker sees it."""

    box: BoxF
    confidence: float = 1.0
    label: str | None = None


@dataclass
class Track:
    id: int
    box: BoxF
    label: str | None
    velocity: tuple[float, float] = (0.0, 0.0)
    missed: int = 0  # frames since it was last matched
    hits: int = 1

    def predicted(self) -> BoxF:
        x, y, w, h = self.box
        steps = self.missed + 1
        return (x + self.velocity[0] * steps, y + self.velocity[1] * steps, w, h)

    def update(self, box: BoxF) -> None:
        steps = self.missed + 1
        dx = (box[0] - self.box[0]) / steps
        dy = (box[1] - self.box[1]) / steps
        # Smoothed velocity: one noisy box does not throw the prediction off.
        vx, vy = self.velocity
        self.velocity = (dx, dy) if self.hits == 1 else (0.5 * vx + 0.5 * dx, 0.5 * vy + 0.5 * dy)
        self.box = box
        self.missed = 0
        self.hits += 1


class Tracker:
    """Follows one source's detections; call :meth:`update` once per processed frame."""

    def __init__(self, options: TrackerOptions | None = None) -> None:
        self._options = options or TrackerOptions.model_validate({})
        self._tracks: list[Track] = []
        self._ids = itertools.count(1)

    @property
    def tracks(self) -> list[Track]:
        return list(self._tracks)

    def update(self, observations: Sequence[Observation]) -> list[int | None]:
        """The track id of each observation (``None`` for one ignored as too weak)."""
        opts = self._options
        assigned: list[int | None] = [None] * len(observations)
        strong = [i for i, o in enumerate(observations) if o.confidence >= opts.high_confidence]
        weak = [
            i
            for i, o in enumerate(observations)
            if opts.min_confidence <= o.confidence < opts.high_confidence
        ]
        unmatched = list(range(len(self._tracks)))
        for group in (strong, weak):
            pairs = self._match(observations, group, unmatched)
            for obs_index, track_index in pairs:
                track = self._tracks[track_index]
                track.update(observations[obs_index].box)
                assigned[obs_index] = track.id
                unmatched.remove(track_index)
        for track_index in unmatched:
            self._tracks[track_index].missed += 1
        self._tracks = [t for t in self._tracks if t.missed <= opts.lost_frames]
        for obs_index in strong:
            if assigned[obs_index] is None:
                obs = observations[obs_index]
                track = Track(next(self._ids), obs.box, obs.label)
                self._tracks.append(track)
                assigned[obs_index] = track.id
        return assigned

    def _match(
        self, observations: Sequence[Observation], group: list[int], tracks: list[int]
    ) -> list[tuple[int, int]]:
        candidates: list[tuple[float, int, int]] = []
        for obs_index in group:
            obs = observations[obs_index]
            for track_index in tracks:
                track = self._tracks[track_index]
                if track.label != obs.label:
                    continue
                overlap = iou(track.predicted(), obs.box)
                if overlap >= self._options.match_iou:
                    candidates.append((overlap, obs_index, track_index))
        candidates.sort(key=lambda c: -c[0])
        used_obs: set[int] = set()
        used_tracks: set[int] = set()
        pairs = []
        for _, obs_index, track_index in candidates:
            if obs_index in used_obs or track_index in used_tracks:
                continue
            used_obs.add(obs_index)
            used_tracks.add(track_index)
            pairs.append((obs_index, track_index))
        return pairs
