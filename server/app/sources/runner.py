"""One running source: decode, keep the newest frame, run the target, analyse, emit.

A decoder child process (:mod:`app.video.decoder`, live mode) opens the URL or file and
sends every sampled frame as it comes; a reader thread puts each into the stream's
:class:`~app.streams.slot.LatestFrameSlot`, so while the tool works on one frame only the
newest waits and the older ones are counted as dropped: latency stays one frame deep
whatever the tool's speed. The processor takes the newest frame and runs it as one
governed call (:mod:`app.video.targets`: a tool through ``PluginManagementService.run`` or
a pipeline), in a worker thread, as the owner key's request (its rate applies; a revoked
or expired key ends the source). The result goes through the source's
:class:`~app.sources.analytics.Analytics` (tracking, zones, lines), and the frame's events
go to the outbox (webhooks) and the source's JSON Lines sinks.

When the stream drops (the decoder reports an error, the stream ends, FFmpeg crashes), the
run reconnects with exponential backoff, counts it and reports the gap. Frames are
numbered once per run, across reconnects, so none is processed twice. A source that never
delivered a frame (a bad URL, not a video) fails at once with a clear error instead.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from app.errors import ErrorCode, VisorError, build_envelope, envelope_from_exception, public_error
from app.plugins.runtime.executor import call_context
from app.sources.analytics import Analytics
from app.sources.models import SourceRequest, SourceStats
from app.store.clock import iso_from_micros, now_us
from app.store.ids import new_id
from app.streams.frames import Frame, FrameKind
from app.streams.slot import LatestFrameSlot
from app.video.decoder import DecodeCancelled, DecodeRequest, FrameSource, LiveRequest
from app.video.runner import FRAME_ERRORS
from app.video.source import LiveOpen
from app.video.targets import FrameTarget

log = logging.getLogger("visor.sources")

#: What the run asks before each frame: ``{}`` to go on, an envelope to skip the frame
#: (the owner key is over its rate); raises :class:`Refused` when the key no longer works.
Admit = Callable[[str | None], dict[str, Any]]
#: Where the run's events go (the outbox and sinks), and its end.
Emit = Callable[["SourceRun", dict[str, Any]], None]

_WINDOW_S = 5.0
_GAPS_KEPT = 10
_LATENCIES_KEPT = 200


class Refused(Exception):
    """The owner key no longer authenticates: the source ends with this envelope."""

    def __init__(self, envelope: dict[str, Any]) -> None:
        super().__init__(envelope["error"]["message"])
        self.envelope = envelope


@dataclass(frozen=True)
class RunOptions:
    max_pixels: int = 50_000_000
    decoder_memory_mb: int | None = 2048
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    open_timeout_s: float = 10.0
    read_timeout_s: float = 10.0
    stats_interval_s: float = 1.0


@dataclass
class RunDeps:
    """What a run needs from the server (built by the manager)."""

    target: FrameTarget
    admit: Admit
    emit: Emit
    save_stats: Callable[[SourceStats], None]
    fail: Callable[[dict[str, Any]], None]
    finish: Callable[[], None]
    resolve_path: Callable[[str], Path]
    sink_dir: Path


@dataclass
class _Meta:
    t_s: float
    captured_at: float | None


@dataclass
class _Rates:
    times: deque[float] = field(default_factory=deque)

    def tick(self, now: float) -> None:
        self.times.append(now)
        self.trim(now)

    def trim(self, now: float) -> None:
        while self.times and self.times[0] < now - _WINDOW_S:
            self.times.popleft()

    def per_s(self, now: float) -> float:
        self.trim(now)
        return round(len(self.times) / _WINDOW_S, 2)


class SourceRun:
    """Runs one claimed source on this server until stopped, failed or finished."""

    def __init__(
        self,
        source_id: str,
        name: str | None,
        owner: str | None,
        request: SourceRequest,
        stats: SourceStats,
        deps: RunDeps,
        options: RunOptions,
    ) -> None:
        self.id = source_id
        self.name = name
        self.owner = owner
        self.request = request
        self.stats = stats
        self._deps = deps
        self._options = options
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._analytics = Analytics(request.analytics)
        self._meta: dict[int, _Meta] = {}
        self._rates_in, self._rates_out = _Rates(), _Rates()
        self._latencies: deque[float] = deque(maxlen=_LATENCIES_KEPT)
        self._last_captured: float | None = None
        self._lost_at: float | None = None
        self._ended = False
        self.latest_jpeg: bytes | None = None  # the newest processed frame (preview)

    # -- control ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._main, name=f"visor-source-{self.id[:8]}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except Refused as refused:
            self._end_failed(refused.envelope)
        except VisorError as exc:
            self._end_failed(envelope_from_exception(exc))
        except Exception:  # the thread's boundary: a bug ends this source, not the server
            log.exception("source %s failed", self.id)
            self._end_failed(
                build_envelope(ErrorCode.INTERNAL, "the source stopped on an internal error")
            )

    def _end_failed(self, envelope: dict[str, Any]) -> None:
        section = public_error(envelope)["error"]
        self.stats.last_frame = None
        self._save()
        self._deps.fail(section)
        self._deps.emit(self, {"type": "source.failed", "error": section})
        log.info("source %s failed: %s", self.id, section["message"])

    # -- the run ----------------------------------------------------------------------------

    async def _run(self) -> None:
        slot = LatestFrameSlot()
        loop = asyncio.get_running_loop()
        processing = asyncio.create_task(self._process(slot))
        saving = asyncio.create_task(self._save_every())
        try:
            await self._read(slot, loop)
        finally:
            slot.close(discard=True)
            saving.cancel()
            await asyncio.gather(processing, return_exceptions=False)
            self._save()
        if self._ended:
            self._deps.finish()
            self._deps.emit(self, {"type": "source.stopped", "reason": "the file ended"})

    async def _read(self, slot: LatestFrameSlot, loop: asyncio.AbstractEventLoop) -> None:
        delay = self._options.reconnect_min_s
        frames_at_failure = -1
        while not self._stop.is_set():
            try:
                await asyncio.to_thread(self._decode, slot, loop)
                if self.request.path is not None and not self.request.loop:
                    self._ended = True
                    return
                reason = "the stream ended"
            except DecodeCancelled:
                return
            except VisorError as exc:
                if not self.stats.connected_once:
                    raise  # never delivered a frame: a bad URL or not a video
                reason = exc.message
            if self._stop.is_set():
                return
            if self.stats.frames_in > frames_at_failure:
                delay = self._options.reconnect_min_s  # it worked again since the last drop
            frames_at_failure = self.stats.frames_in
            self.stats.reconnects += 1
            if self._lost_at is None:
                self._lost_at = self._last_captured or time.time()
            log.info(
                "source %s lost its stream (%s); reconnecting in %.1f s", self.id, reason, delay
            )
            self.stats.gaps = [
                *self.stats.gaps,
                {"lost_at": _iso(self._lost_at), "reason": reason},
            ][-_GAPS_KEPT:]
            if await asyncio.to_thread(self._stop.wait, delay):
                return
            delay = min(self._options.reconnect_max_s, delay * 2)

    def _decode(self, slot: LatestFrameSlot, loop: asyncio.AbstractEventLoop) -> None:
        """One connection: the decoder's frames into the slot until it ends or fails."""
        request = self.request
        if request.path is not None:
            location, live = str(self._deps.resolve_path(request.path)), LiveRequest(
                open=LiveOpen(format=request.format, open_timeout_s=self._options.open_timeout_s,
                              read_timeout_s=self._options.read_timeout_s),
                loop=request.loop,
                pace=True,
            )  # fmt: skip
        else:
            assert request.url is not None
            location, live = request.url, LiveRequest(
                open=LiveOpen(format=request.format, open_timeout_s=self._options.open_timeout_s,
                              read_timeout_s=self._options.read_timeout_s),
            )  # fmt: skip
        decode = DecodeRequest(
            path=location,
            max_pixels=self._options.max_pixels,
            rule=request.sample.rule(),
            memory_limit_mb=self._options.decoder_memory_mb,
            live=live,
        )
        with FrameSource(decode, cancelled=self._stop.is_set) as source:
            self.stats.video = source.info.public()
            for sampled in source.samples():
                if self._stop.is_set():
                    raise DecodeCancelled  # closing the source ends the decoder process
                data = base64.b64decode(sampled.image_b64)
                loop.call_soon_threadsafe(
                    self._arrived, slot, data, sampled.sample.t_s, sampled.captured_at
                )
            return

    def _arrived(
        self, slot: LatestFrameSlot, data: bytes, t_s: float, captured_at: float | None
    ) -> None:
        """On the run's loop: number the frame, note a reconnection's gap, put it in the slot."""
        now = time.time()
        self.stats.frames_in += 1
        self.stats.connected_once = True
        number = self.stats.frames_in
        if self._lost_at is not None:
            gap = round((captured_at or now) - self._lost_at, 3)
            if self.stats.gaps:
                self.stats.gaps[-1] = {**self.stats.gaps[-1], "gap_s": gap, "resumed_at": _iso(now)}
            self._lost_at = None
        self._last_captured = captured_at or now
        self._rates_in.tick(time.monotonic())
        self._meta[number] = _Meta(t_s, captured_at)
        displaced = slot.put(Frame(number, data, FrameKind.JPEG))
        if displaced is not None:
            self._meta.pop(displaced.number, None)
            self.stats.dropped += 1

    async def _process(self, slot: LatestFrameSlot) -> None:
        while (taken := await slot.take()) is not None:
            meta = self._meta.pop(taken.frame.number, _Meta(0.0, None))
            try:
                await asyncio.to_thread(self._call, taken.frame, meta)
            except (Refused, VisorError):
                self._stop.set()
                slot.close(discard=True)
                raise

    def _call(self, frame: Frame, meta: _Meta) -> None:
        """One frame: admitted as the owner's request, one governed call, analytics, events."""
        refused = self._deps.admit(self.owner)
        if refused:
            self.stats.rate_limited += 1
            return
        payload = base64.b64encode(frame.data).decode("ascii")
        with call_context(call_id=f"source-{self.id}-{frame.number}"):
            result, error = self._deps.target.run(payload, frame.kind.value)
        now = time.time()
        self._rates_out.tick(time.monotonic())
        self.stats.frames_out += 1
        if meta.captured_at is not None:
            self._latencies.append((now - meta.captured_at) * 1000.0)
        if error:
            code = str(error["error"].get("details", {}).get("code"))
            if code in FRAME_ERRORS or code == ErrorCode.OVERLOADED.value:
                self.stats.frame_errors[code] = self.stats.frame_errors.get(code, 0) + 1
                return
            if self._stop.is_set():
                return  # the source or the server is stopping: not the target's fault
            raise VisorError(  # the target cannot run at all: the source ends
                error["error"]["message"],
                code=ErrorCode(code),
                details=error["error"].get("details", {}),
            )
        section, events = self._analytics.process(meta.t_s, result)
        entry = {"frame": frame.number, "t_s": round(meta.t_s, 6), "result": result}
        if section:
            entry["analytics"] = section
        self.stats.last_frame = entry
        self.latest_jpeg = frame.data
        for sink in self.request.sinks:
            if sink.frames:
                self._write_sink(sink.file, {"kind": "frame", "source": self.id, **entry})
        for event in events:
            self._deps.emit(self, {**event, "frame": frame.number, "t_s": round(meta.t_s, 6)})

    def record_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """Complete an event (id, source, time), count it and write it to the sinks."""
        full = {
            "id": new_id(),
            **event,
            "source": {"id": self.id, "name": self.name},
            "at": iso_from_micros(now_us()),
        }
        self.stats.events += 1
        for sink in self.request.sinks:
            self._write_sink(sink.file, {"kind": "event", **full})
        return full

    def _write_sink(self, name: str, line: dict[str, Any]) -> None:
        path = self._deps.sink_dir / name
        with open(path, "ab") as out:
            out.write(orjson.dumps(line) + b"\n")

    # -- stats ------------------------------------------------------------------------------

    async def _save_every(self) -> None:
        while True:
            await asyncio.sleep(self._options.stats_interval_s)
            await asyncio.to_thread(self._save)

    def _save(self) -> None:
        now = time.monotonic()
        self.stats.fps_in = self._rates_in.per_s(now)
        self.stats.fps_out = self._rates_out.per_s(now)
        if self._latencies:
            ordered = sorted(self._latencies)
            self.stats.latency_ms = {
                "p50": round(statistics.median(ordered), 1),
                "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
            }
        self.stats.summary = self._analytics.summary()
        try:
            self._deps.save_stats(self.stats.model_copy(deep=True))
        except Exception:  # a store hiccup costs one stats update, not the source
            log.warning("source %s: stats not saved", self.id, exc_info=True)


def _iso(epoch_s: float) -> str | None:
    return iso_from_micros(int(epoch_s * 1e6))


def redacted(url: str | None) -> str | None:
    """The URL without its credentials (``rtsp://user:pass@camera/…``)."""
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
