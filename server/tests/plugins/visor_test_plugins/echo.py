"""A well-behaved plugin: instant, slow, progress-reporting and async tools."""

from __future__ import annotations

import asyncio
import time

from pydantic import BaseModel, Field

from app.plugins.base import Plugin, ToolContext, tool


class EchoInput(BaseModel):
    text: str = Field("", max_length=10_000)


class EchoOutput(BaseModel):
    text: str
    pid: int


class SleepInput(BaseModel):
    seconds: float = Field(0.1, ge=0, le=600)
    steps: int = Field(1, ge=1, le=1000)
    pad: str = Field("", description="Ballast, ignored: an input as large as a test needs.")


class EchoPlugin(Plugin):
    name = "echo"
    version = "1.0.0"
    description = "Echoes text back; also sleeps, reports progress and runs async."

    @tool(default=True, description="Return the text and the serving process id.")
    def echo(self, args: EchoInput) -> EchoOutput:
        import os

        return EchoOutput(text=args.text, pid=os.getpid())

    @tool(description="Do nothing at all (the benchmark's no-op).")
    def noop(self) -> dict:
        return {}

    @tool(description="Sleep in steps, reporting progress after each step.")
    def sleep(self, args: SleepInput, ctx: ToolContext) -> dict:
        for step in range(args.steps):
            if ctx.cancelled:
                return {"slept": False, "cancelled_at": step}
            time.sleep(args.seconds / args.steps)
            ctx.progress((step + 1) / args.steps, f"step {step + 1}/{args.steps}")
        return {"slept": True}

    @tool(description="The same as echo, but async.")
    async def aecho(self, args: EchoInput) -> EchoOutput:
        import os

        await asyncio.sleep(0)
        return EchoOutput(text=args.text, pid=os.getpid())
