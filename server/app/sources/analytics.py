"""A source's analytics step: tracking, zones and lines over any result that has boxes.

The tool or pipeline a source runs is unknown here: its result is walked for regions
(:func:`app.plugins.vocabulary.regions`, every object with a ``box``), so faces, barcodes,
``objects`` or ``people`` from a learned detector and the crops of a pipeline step all
work alike. Each region becomes an observation (``confidence``, ``label`` when present),
the tracker gives it a ``track_id``, and zones and lines count the tracks. The frame's
``analytics`` section and the events (line crossed, zone entered/left, a value first
seen) come back; the summary covers the source's whole life.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.plugins.vocabulary import regions
from app.sources.tracking import Observation, Tracker, TrackerOptions
from app.sources.zones import Anchor, LineCounter, LineSpec, ZoneCounter, ZoneSpec, anchor_of

#: Distinct values remembered for ``value_seen`` (a bound on a long source's memory).
_MAX_VALUES = 10_000


class AnalyticsSpec(BaseModel):
    """Tracking, zones and lines (all optional; zones and lines need tracking)."""

    model_config = ConfigDict(extra="forbid")

    tracking: TrackerOptions | None = Field(
        default=None, description="Give detections a stable track_id across frames."
    )
    zones: list[ZoneSpec] = Field(default_factory=list, max_length=32)
    lines: list[LineSpec] = Field(default_factory=list, max_length=32)
    anchor: Anchor = Field(
        default=Anchor.BOTTOM_CENTER, description="The point of a box zones and lines look at."
    )
    labels: list[str] | None = Field(
        default=None, description="Only regions with one of these labels (all regions if null)."
    )

    @model_validator(mode="after")
    def _tracked(self) -> AnalyticsSpec:
        if (self.zones or self.lines) and self.tracking is None:
            self.tracking = TrackerOptions.model_validate({})
        names = [z.name for z in self.zones] + [line.name for line in self.lines]
        if len(names) != len(set(names)):
            raise ValueError("zone and line names must be unique")
        return self


def _label(region: dict[str, Any]) -> str | None:
    label = region.get("label")
    return str(label) if isinstance(label, str | int) else None


def _confidence(region: dict[str, Any]) -> float:
    value = region.get("confidence")
    return float(value) if isinstance(value, int | float) else 1.0


class Analytics:
    """One source's analytics state (one per running source; not thread-safe)."""

    def __init__(self, spec: AnalyticsSpec) -> None:
        self.spec = spec
        self._tracker = Tracker(spec.tracking) if spec.tracking is not None else None
        self._zones = [ZoneCounter(z) for z in spec.zones]
        self._lines = [LineCounter(line) for line in spec.lines]
        self._values: set[str] = set()

    def process(
        self, t_s: float, result: dict[str, Any]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The frame's ``analytics`` section and its events."""
        found = [r for r in regions(result) if self._wanted(r)]
        events = self._values_seen(found)
        section: dict[str, Any] = {}
        if self._tracker is None:
            return section, events
        observations = [
            Observation(tuple(float(v) for v in r["box"]), _confidence(r), _label(r))  # type: ignore[arg-type]
            for r in found
        ]
        ids = self._tracker.update(observations)
        detections = []
        anchors: dict[int, tuple[tuple[float, float], str | None]] = {}
        for obs, tid in zip(observations, ids, strict=True):
            if tid is None:
                continue
            detections.append(
                {"box": [round(v) for v in obs.box], "track_id": tid, "label": obs.label,
                 "confidence": round(obs.confidence, 4)}
            )  # fmt: skip
            anchors[tid] = (anchor_of(obs.box, self.spec.anchor), obs.label)
        section["tracks"] = detections
        if self._zones:
            section["zones"] = {}
            for zone in self._zones:
                state, zone_events = zone.update(t_s, anchors)
                section["zones"][zone.spec.name] = state
                events.extend(zone_events)
        if self._lines:
            live = {t.id for t in self._tracker.tracks}
            section["lines"] = {}
            for line in self._lines:
                events.extend(line.update(anchors))
                line.forget(live)
                section["lines"][line.spec.name] = line.summary()
        return section, events

    def _wanted(self, region: dict[str, Any]) -> bool:
        return self.spec.labels is None or _label(region) in self.spec.labels

    def _values_seen(self, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        events = []
        for region in found:
            text = region.get("text")
            if isinstance(text, str) and text and text not in self._values:
                if len(self._values) >= _MAX_VALUES:
                    continue
                self._values.add(text)
                events.append({"type": "value_seen", "text": text, "label": _label(region)})
        return events

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self._zones:
            out["zones"] = {z.spec.name: z.summary() for z in self._zones}
        if self._lines:
            out["lines"] = {line.spec.name: line.summary() for line in self._lines}
        if self._values:
            out["values_seen"] = len(self._values)
        return out
