"""One live stream: receive frames, process the newest, answer one JSON message per frame.

Two coroutines share a :class:`~app.streams.slot.LatestFrameSlot`: the receiver checks
each message and puts good frames in the slot (answering bad ones with an envelope at
once); the processor takes the newest frame and runs it as one governed call — a tool
through :meth:`PluginManagementService.run`, a pipeline through ``PipelineService.run``
(validated, isolated, timed, counted, enveloped) — in a worker thread so the receiver keeps
reading, and dropping stale frames, meanwhile.

The connection answers to the credential it opened with (:mod:`app.auth.lease`): each frame
is admitted as one request of the key (its rate; a frame over it is answered
``rate_limited`` and not run), and when the key is revoked or expires, or the dashboard
session is signed out, the stream is closed (1008, the reason), running nothing more.

A frame's bytes count in the server's in-flight body budget (:mod:`app.body_budget`) from
its arrival until it is answered or displaced; a frame that does not fit is answered
``overloaded`` at once and never displaces the pending one.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.status import WS_1008_POLICY_VIOLATION
from starlette.websockets import WebSocket, WebSocketDisconnect

from app.auth.index import Refusal
from app.auth.lease import CredentialLost, Lease, lost_envelope
from app.body_budget import BodyBudget
from app.errors import (
    DEFAULT_RETRY_AFTER_S,
    ErrorCode,
    VisorError,
    envelope_from_exception,
    public_error,
)
from app.plugins.runtime.executor import call_context
from app.streams.frames import Frame, accept_frame
from app.streams.slot import LatestFrameSlot, Taken
from app.tracing import spans as tracing
from app.units import human_bytes

log = logging.getLogger("visor.streams")

#: What a stream does with one frame: ``(result, {})`` or ``({}, envelope)``, never raises.
FrameCall = Callable[[Frame], tuple[dict[str, Any], dict[str, Any]]]


class FrameAnswer(BaseModel):
    """The answer to one processed frame (a failed frame gets the envelope instead)."""

    frame: int = Field(description="The frame's number on this connection (1 = first message).")
    dropped: int = Field(description="Frames dropped unprocessed since the previous answer.")
    plugin: str
    tool: str | None
    elapsed_ms: float
    result: dict[str, Any]


class StreamSession:
    """Serves one accepted WebSocket until the client goes away."""

    def __init__(
        self,
        websocket: WebSocket,
        call: FrameCall,
        *,
        plugin: str,
        tool: str,
        max_frame_bytes: int,
        lease: Lease,
        budget: BodyBudget,
    ) -> None:
        self._ws = websocket
        self._call_frame = call
        self._plugin = plugin
        self._tool = tool
        self._max_frame_bytes = max_frame_bytes
        self._lease = lease
        self._budget = budget
        self._id = uuid.uuid4().hex
        self._send_lock = asyncio.Lock()
        self._open = True
        self._lost: asyncio.Future[Refusal] = asyncio.get_running_loop().create_future()
        self.slot = LatestFrameSlot()

    async def run(self) -> None:
        receiving = asyncio.create_task(self._receive())
        processing = asyncio.create_task(self._process())
        watching = asyncio.create_task(self._watch())
        try:
            either: set[asyncio.Future[Any]] = {receiving, self._lost}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            if self._lost.done():
                receiving.cancel()
                await self._close_lost(self._lost.result())
            else:
                receiving.result()  # the client left (or receiving failed: re-raised here)
        finally:
            receiving.cancel()
            watching.cancel()
            self._release(self.slot.close(discard=not self._open))
            await processing  # the frame in flight finishes (a tool call cannot be torn down)

    async def _receive(self) -> None:
        number = 0
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                self._open = False
                return
            number += 1
            try:
                frame = accept_frame(number, message, self._max_frame_bytes)
                self._hold(frame)
            except VisorError as exc:
                await self._send({**self._error(exc), "frame": number})
                continue
            self._release(self.slot.put(frame))

    def _hold(self, frame: Frame) -> None:
        if not self._budget.take(len(frame.data)):
            raise VisorError(
                "the server holds as many request bodies and frames as it may "
                f"({human_bytes(self._budget.limit_bytes)}, "
                "VISOR_MAX_BODIES_IN_FLIGHT_BYTES); this frame was not run",
                code=ErrorCode.OVERLOADED,
                details={
                    "frame": frame.number,
                    "limit_bytes": self._budget.limit_bytes,
                    "retry_after_s": DEFAULT_RETRY_AFTER_S,
                },
            )

    def _release(self, frame: Frame | None) -> None:
        if frame is not None:
            self._budget.give_back(len(frame.data))

    async def _watch(self) -> None:
        self._end(await self._lease.lost())

    def _end(self, refusal: Refusal) -> None:
        if not self._lost.done():
            self._lost.set_result(refusal)

    async def _process(self) -> None:
        while (taken := await self.slot.take()) is not None:
            try:
                answer = await self._answer(taken)
            except CredentialLost as lost:
                self._end(lost.refusal)
                return
            finally:
                self._release(taken.frame)
            if not await self._send(answer):
                return

    async def _answer(self, taken: Taken) -> dict[str, Any]:
        refused = self._lease.admit_call()  # each frame is one request of the key
        if refused:
            return {**public_error(refused), "frame": taken.frame.number, "dropped": taken.dropped}
        return await run_in_threadpool(self._call, taken)

    async def _close_lost(self, refusal: Refusal) -> None:
        """End the stream because its credential no longer authenticates: the envelope,
        then close 1008 with the reason (both readable by any WebSocket client)."""
        async with self._send_lock:
            if not self._open:
                return
            self._open = False
            log.info("stream %s closed: %s", self._id, refusal.value)
            try:
                await self._ws.send_json(public_error(lost_envelope(refusal)))
                await self._ws.close(code=WS_1008_POLICY_VIOLATION, reason=refusal.value[:120])
            except (WebSocketDisconnect, RuntimeError, OSError):
                log.debug("stream %s: client went away while closing", self._id)

    def _call(self, taken: Taken) -> dict[str, Any]:
        frame = taken.frame
        started = time.perf_counter()
        with (
            call_context(call_id=f"stream-{self._id}-{frame.number}"),
            tracing.sampled("visor.stream.frame", frame.number, _frame_attributes(frame)),
        ):
            result, error = self._call_frame(frame)
        if error:
            return {**public_error(error), "frame": frame.number, "dropped": taken.dropped}
        return FrameAnswer(
            frame=frame.number,
            dropped=taken.dropped,
            plugin=self._plugin,
            tool=self._tool,
            elapsed_ms=round((time.perf_counter() - started) * 1000.0, 3),
            result=result,
        ).model_dump()

    def _error(self, exc: VisorError) -> dict[str, Any]:
        return public_error(envelope_from_exception(exc, plugin=self._plugin))

    async def _send(self, message: dict[str, Any]) -> bool:
        """Send one JSON message; ``False`` once the client is gone."""
        async with self._send_lock:
            if not self._open:  # the client left, or the stream was closed
                return False
            try:
                await self._ws.send_json(message)
            except (WebSocketDisconnect, RuntimeError, OSError):
                self._open = False
                log.debug("stream %s: client went away", self._id)
        return self._open


def _frame_attributes(frame: Any) -> dict[str, int] | None:
    return {"visor.frame.index": frame.number} if tracing.enabled() else None
