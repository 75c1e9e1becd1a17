"""Progress notifications that keep moving while a long call runs.

Agent hosts reset a call's timeout on each progress notification; a 15 to 42 s OCR call
reported 0.1, 0.2, then nothing until it finished, long enough for a host that times out
on silence to give up. The door
forwards every progress the tool reports and, in the gaps, sends its own at least every
``interval_s``: the last message plus how long the call has run, at a value a little
higher than the last (MCP requires every notification's progress to increase, so values
approach, but never reach, 1 until the tool says so).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

log = logging.getLogger("visor.mcp")

Progress = tuple[float, str | None]
Report = Callable[[float, str | None], Awaitable[None]]

#: The most a gap-filling notification may claim; the tool's own 1.0 ends the call.
_CEILING = 0.99
#: Each gap-filling notification closes this share of the distance to the ceiling.
_STEP = 0.02


async def forward_progress(
    receive: MemoryObjectReceiveStream[Progress], report: Report, interval_s: float
) -> None:
    """Send the tool's progress as it comes, and a heartbeat after each quiet interval."""
    started = time.monotonic()
    last = 0.0
    message: str | None = None
    async with receive:
        while True:
            with anyio.move_on_after(interval_s) as quiet:
                try:
                    fraction, told = await receive.receive()
                except anyio.EndOfStream:
                    return
            text: str | None
            if quiet.cancelled_caught:
                fraction = last + (_CEILING - last) * _STEP
                running = round(time.monotonic() - started)
                text = f"{message or 'running'}; still working ({running} s)"
            else:
                message = told or message
                if fraction <= last:  # never backwards, never the same value twice
                    fraction = last + (_CEILING - last) * _STEP / 10
                text = told
            if fraction <= last:  # at the ceiling (or past it): nothing new to say
                continue
            last = fraction
            try:
                await report(fraction, text)
            except Exception:  # a gone client must not fail the call
                log.debug("progress notification dropped", exc_info=True)
