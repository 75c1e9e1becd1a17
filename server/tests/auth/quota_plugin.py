"""A plugin for the quota tests: counts its calls, and holds a call until released."""

from __future__ import annotations

import threading
from collections import Counter

from pydantic import BaseModel

from app.plugins.base import Plugin, tool
from app.plugins.loader.plugin_loader import source_for_class

RUNS: Counter[str] = Counter()
HELD: dict[str, threading.Event] = {}
ENTERED: dict[str, threading.Event] = {}
_LOCK = threading.Lock()


class Token(BaseModel):
    token: str


class QuotaPlugin(Plugin):
    name = "quota"
    version = "1.0.0"
    description = "Counts calls and holds them (quota tests)."
    isolation = "in_process"

    @tool(default=True, description="Count this call under its token.")
    def count(self, args: Token) -> dict:
        with _LOCK:
            RUNS[args.token] += 1
        return {"token": args.token}

    @tool(description="Wait until the test releases this token (at most 30 s).")
    def hold(self, args: Token) -> dict:
        with _LOCK:
            RUNS[args.token] += 1
        ENTERED[args.token].set()
        HELD[args.token].wait(30)
        return {"token": args.token}


SOURCES = [source_for_class(QuotaPlugin)]
