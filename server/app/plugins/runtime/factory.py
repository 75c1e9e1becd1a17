"""Builds the executor the app runs tools on, from settings."""

from __future__ import annotations

from app.plugins.runtime.executor import Executor
from app.plugins.runtime.in_process import InProcessExecutor
from app.settings import Settings


def build_executor(settings: Settings) -> Executor:
    return InProcessExecutor()
