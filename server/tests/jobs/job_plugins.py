"""Plugins the job tests load: tools that wait to be cancelled and count their runs."""

from __future__ import annotations

import threading
import time
from collections import Counter

from pydantic import BaseModel

from app.plugins.base import Plugin, ToolContext, tool
from app.plugins.loader.plugin_loader import source_for_class

#: token → set once the ``spin`` call carrying it has returned (the tool really stopped).
STOPPED: dict[str, threading.Event] = {}
#: token → set once the ``spin`` call carrying it has started.
STARTED: dict[str, threading.Event] = {}
#: token → how many times ``count`` ran with it.
RUNS: Counter[str] = Counter()
_RUNS_LOCK = threading.Lock()


class Token(BaseModel):
    token: str


def expect(token: str) -> tuple[threading.Event, threading.Event]:
    STARTED[token] = threading.Event()
    STOPPED[token] = threading.Event()
    return STARTED[token], STOPPED[token]


class JobTestPlugin(Plugin):
    name = "jobtest"
    version = "1.0.0"
    description = "Tools for the job tests."

    @tool(description="Report progress until cancelled (or for at most 30 s).")
    def spin(self, args: Token, ctx: ToolContext) -> dict:
        STARTED[args.token].set()
        try:
            deadline = time.monotonic() + 30.0
            step = 0
            while not ctx.cancelled and time.monotonic() < deadline:
                step += 1
                ctx.progress(min(0.99, step / 1000), f"spin {step}")
                time.sleep(0.005)
            return {"steps": step}
        finally:
            STOPPED[args.token].set()

    @tool(description="Count this call under its token.")
    def count(self, args: Token) -> dict:
        with _RUNS_LOCK:
            RUNS[args.token] += 1
        return {"token": args.token}


SOURCES = [source_for_class(JobTestPlugin)]
