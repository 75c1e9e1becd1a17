"""Plugins that break their worker process in every way a process-isolated plugin can.

``crashy`` raises, hangs, spins, exits, segfaults, allocates past its memory limit, prints
garbage and returns a huge result. ``steady`` is the well-behaved neighbour called in
parallel (and the benchmark's no-op and CPU-bound tool). ``crashy_startup`` cannot start.
"""

from __future__ import annotations

import ctypes
import os
import sys
import time
from pathlib import Path

from pydantic import BaseModel, Field

from app.plugins.base import InvalidInput, Plugin, PluginUnavailable, ToolContext, tool

#: When this environment variable names an existing file, crashy's health check fails.
SICK_FILE_ENV = "VISOR_TEST_CRASHY_SICK_FILE"


class SleepInput(BaseModel):
    seconds: float = Field(0.1, ge=0, le=3600)
    steps: int = Field(1, ge=1, le=1000)


class SizeInput(BaseModel):
    mb: int = Field(64, ge=1, le=1_000_000)


class BurnInput(BaseModel):
    n: int = Field(200_000, ge=1, le=1_000_000_000)


class CrashyPlugin(Plugin):
    name = "crashy"
    version = "1.0.0"
    description = "Every way a worker process can go wrong, one tool each."
    workers = 1
    memory_limit_mb = 512

    def health_check(self) -> bool:
        sick = os.environ.get(SICK_FILE_ENV)
        return not (sick and Path(sick).exists())

    @tool(default=True, description="Report the worker's process id.")
    def pid(self) -> dict:
        return {"pid": os.getpid()}

    @tool(description="Raise an ordinary exception.")
    def raise_error(self) -> dict:
        raise RuntimeError("crashy raised on purpose")

    @tool(description="Refuse the input (ValidationError).")
    def bad_input(self) -> dict:
        raise InvalidInput("crashy dislikes this input", details={"field": "everything"})

    @tool(description="Claim a missing dependency (PluginError).")
    def unavailable(self) -> dict:
        raise PluginUnavailable("crashy's model is not installed")

    @tool(description="Sleep in steps, reporting progress.")
    def sleep(self, args: SleepInput, ctx: ToolContext) -> dict:
        for step in range(args.steps):
            time.sleep(args.seconds / args.steps)
            ctx.progress((step + 1) / args.steps, f"step {step + 1}")
        return {"slept": args.seconds, "pid": os.getpid()}

    @tool(description="Hang in time.sleep, ignoring every limit.")
    def hang(self) -> dict:
        time.sleep(3600)
        return {}

    @tool(description="Spin in a tight loop forever.")
    def spin(self) -> dict:
        while True:
            pass

    @tool(description="Exit the process without a word.")
    def exit(self) -> dict:
        os._exit(1)

    @tool(description="Dereference a null pointer (SIGSEGV).")
    def segfault(self) -> dict:
        ctypes.string_at(0)
        return {}

    @tool(description="Allocate far past the worker's memory limit.")
    def allocate(self, args: SizeInput) -> dict:
        blob = bytearray(args.mb * 1024 * 1024)
        return {"allocated": len(blob)}

    @tool(description="Allocate in small steps past the limit (as a leak would).")
    def leak(self, args: SizeInput) -> dict:
        hoard = [bytes(1024 * 1024) for _ in range(args.mb)]
        return {"held": len(hoard)}

    @tool(description="Fill shared memory, which the heap limit does not count, then wait.")
    def shared_hog(self, args: SizeInput) -> dict:
        import mmap

        block = mmap.mmap(-1, args.mb * 1024 * 1024)  # MAP_SHARED: outside RLIMIT_DATA
        for offset in range(0, len(block), 4096):
            block[offset] = 1
        time.sleep(60)  # only the server's memory watch can stop this in time
        return {"held": len(block)}

    @tool(description="Write binary garbage and fake frames to stdout and stderr.")
    def garbage(self) -> dict:
        print("garbage on stdout: \x00\x01\x02 not a frame")
        sys.stdout.flush()
        os.write(1, b"\x00\x00\x00\x10\x80\x05raw bytes on fd 1\xff\xfe\n")
        os.write(2, b"\x1b[31mred on fd 2\x1b[0m\n")
        print("to stderr", file=sys.stderr)
        return {"ok": True}

    @tool(description="Return a result far larger than the result limit.")
    def huge(self, args: SizeInput) -> dict:
        return {"blob": "x" * (args.mb * 1024 * 1024)}

    @tool(description="Return something that is not JSON.")
    def opaque(self) -> dict:
        return {"value": object()}

    @tool(description="Return a list instead of an object.")
    def listing(self) -> list[int]:
        return [1, 2, 3]

    @tool(description="Exit via sys.exit (a BaseException).")
    def sys_exit(self) -> dict:
        sys.exit(3)


class SteadyPlugin(Plugin):
    name = "steady"
    version = "1.0.0"
    description = "Well-behaved process-isolated tools: echo, no-op, CPU burn, sleep."
    workers = 2

    @tool(default=True, description="Return the text and the serving process id.")
    def echo(self, args: dict) -> dict:
        return {"text": args.get("text", ""), "pid": os.getpid()}

    @tool(description="Do nothing at all (the benchmark's no-op).")
    def noop(self) -> dict:
        return {}

    @tool(description="Pure-Python CPU work: sum of squares below n.")
    def burn(self, args: BurnInput) -> dict:
        total = 0
        for i in range(args.n):
            total += i * i
        return {"total": total}

    @tool(description="Sleep in steps, reporting progress.")
    def sleep(self, args: SleepInput, ctx: ToolContext) -> dict:
        for step in range(args.steps):
            time.sleep(args.seconds / args.steps)
            ctx.progress((step + 1) / args.steps, f"step {step + 1}")
        return {"slept": args.seconds, "pid": os.getpid()}

    @tool(description="The same as echo, but async.")
    async def aecho(self, args: dict) -> dict:
        return {"text": args.get("text", ""), "pid": os.getpid()}


class CrashyStartupPlugin(Plugin):
    name = "crashy_startup"
    version = "1.0.0"
    description = "Its startup hook fails in the worker."

    def startup(self) -> None:
        raise OSError("model weights not found")

    @tool
    def run(self) -> dict:
        return {}


class MissingExtraPlugin(Plugin):
    name = "missing_extra"
    version = "1.0.0"
    description = "Its startup hook reports a missing optional dependency."

    def startup(self) -> None:
        raise PluginUnavailable("install visor[missing-extra] to use this plugin")

    @tool
    def run(self) -> dict:
        return {}


class SegfaultConstructorPlugin(Plugin):
    name = "segfault_constructor"
    version = "1.0.0"
    description = "Its constructor crashes the process it runs in."

    def __init__(self) -> None:
        ctypes.string_at(0)  # reads address 0: SIGSEGV

    @tool
    def run(self) -> dict:
        return {}


class RaisingConstructorPlugin(Plugin):
    name = "raising_constructor"
    version = "1.0.0"
    description = "Its constructor raises."

    def __init__(self) -> None:
        raise RuntimeError("cannot open the device")

    @tool
    def run(self) -> dict:
        return {}
