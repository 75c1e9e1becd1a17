"""LatestFrameSlot: at most one pending frame, the newest; drops counted per take."""

from __future__ import annotations

import asyncio

from app.streams.frames import Frame, FrameKind
from app.streams.slot import LatestFrameSlot


def _frame(n: int) -> Frame:
    return Frame(n, b"\x89PNG\r\n\x1a\n" + bytes(1000), FrameKind.PNG)


def test_a_burst_keeps_only_the_newest_frame() -> None:
    async def scenario() -> None:
        slot = LatestFrameSlot()
        for n in range(1, 101):
            slot.put(_frame(n))
            assert slot.pending == 1
        taken = await slot.take()
        assert taken is not None and taken.frame.number == 100 and taken.dropped == 99
        assert slot.pending == 0
        slot.put(_frame(101))
        taken = await slot.take()
        assert taken is not None and taken.frame.number == 101 and taken.dropped == 0
        assert slot.dropped_total == 99

    asyncio.run(scenario())


def test_take_waits_for_a_frame_and_ends_on_close() -> None:
    async def scenario() -> None:
        slot = LatestFrameSlot()
        waiting = asyncio.create_task(slot.take())
        await asyncio.sleep(0)
        assert not waiting.done()
        slot.put(_frame(1))
        taken = await waiting
        assert taken is not None and taken.frame.number == 1
        slot.put(_frame(2))
        slot.close()
        last = await slot.take()  # a pending frame is still served after a plain close
        assert last is not None and last.frame.number == 2
        assert await slot.take() is None
        slot.put(_frame(3))
        slot.close(discard=True)  # nobody to answer: the pending frame goes
        assert await slot.take() is None

    asyncio.run(scenario())
