"""The one pending frame of a stream: latest wins.

While the tool works on one frame, frames that arrive wait here; a newer frame replaces
the waiting one (counted as dropped), so a connection holds at most one frame in flight
plus one pending, however fast the client sends.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from app.streams.frames import Frame


@dataclass(frozen=True)
class Taken:
    """A frame to process and how many frames were dropped since the last one taken."""

    frame: Frame
    dropped: int


class LatestFrameSlot:
    """A single-frame mailbox between the receiving and the processing coroutine."""

    def __init__(self) -> None:
        self._frame: Frame | None = None
        self._dropped = 0
        self._closed = False
        self._changed = asyncio.Event()
        self.dropped_total = 0

    @property
    def pending(self) -> int:
        return 0 if self._frame is None else 1

    def put(self, frame: Frame) -> Frame | None:
        """Make ``frame`` the pending one; the frame it displaced, if any, is returned."""
        displaced = self._frame
        if displaced is not None:
            self._dropped += 1
            self.dropped_total += 1
        self._frame = frame
        self._changed.set()
        return displaced

    def close(self, *, discard: bool = False) -> Frame | None:
        """No more frames: :meth:`take` returns ``None`` once the slot is empty (at once
        with ``discard``, when nobody is left to answer; the discarded frame is returned)."""
        self._closed = True
        discarded = None
        if discard:
            discarded, self._frame = self._frame, None
        self._changed.set()
        return discarded

    async def take(self) -> Taken | None:
        while self._frame is None:
            if self._closed:
                return None
            self._changed.clear()
            await self._changed.wait()
        taken = Taken(self._frame, self._dropped)
        self._frame, self._dropped = None, 0
        return taken
