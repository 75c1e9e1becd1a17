"""What one pipeline run may spend: regions per ``for_each`` step, tool calls per run, and
the caller's request rate.

One request can fan out into many tool calls (a ``for_each`` over two thousand boxes, thirty
times over). Each call is governed by ToolRunner and by the key's concurrency quota
(:mod:`app.auth.guard`); the budget adds what fan-out needs on top: bounds on the run's own
size, checked before a step starts, and the key's request rate (:class:`TokenBucket` in
:mod:`app.auth.quotas`, the bucket REST requests take from) paid per call. The request paid
for the first call; each further call takes a token, and when the bucket is empty the run
waits for one — paced at the key's rate, not refused halfway — unless it is cancelled
meanwhile. A run with no principal (open server, a job the dispatcher runs: its caller was
checked at submit) is bounded by the sizes only.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from app.auth.principal import current_principal
from app.errors import ErrorCode, build_envelope
from app.settings import Settings


@dataclass(frozen=True)
class PipelineLimits:
    max_regions: int
    max_calls: int

    @classmethod
    def from_settings(cls, settings: Settings) -> PipelineLimits:
        return cls(settings.pipeline_max_regions, settings.pipeline_max_calls)


class RunBudget:
    """The spending of one run; :meth:`admit` before each step, :meth:`pay` before each call."""

    def __init__(self, limits: PipelineLimits, cancel: threading.Event | None) -> None:
        self._limits = limits
        self._cancel = cancel
        self._planned = 0  # calls admitted so far (a for_each step admits all of its regions)
        self._paid = 0
        self._principal = current_principal()

    def admit(self, step: str, calls: int, *, regions: bool = False) -> dict[str, Any]:
        """``{}`` when a step of ``calls`` tool calls fits, else the envelope ending the run."""
        limits = self._limits
        if regions and calls > limits.max_regions:
            return build_envelope(
                ErrorCode.INVALID_INPUT,
                f"step {step!r}: {calls} regions, more than the {limits.max_regions} a "
                "for_each step may run on (VISOR_PIPELINE_MAX_REGIONS)",
                details={"step": step, "regions": calls, "limit": limits.max_regions},
            )
        if self._planned + calls > limits.max_calls:
            return build_envelope(
                ErrorCode.INVALID_INPUT,
                f"step {step!r}: {calls} more tool calls would make {self._planned + calls} "
                f"in this run, more than {limits.max_calls} (VISOR_PIPELINE_MAX_CALLS)",
                details={"step": step, "calls": self._planned + calls, "limit": limits.max_calls},
            )
        self._planned += calls
        return {}

    def pay(self, step: str) -> dict[str, Any]:
        """Take the key's token for the next call, waiting for one when none is left;
        ``{}`` to go on, or the ``cancelled`` envelope when the run was cancelled."""
        self._paid += 1
        principal = self._principal
        if principal is not None and self._paid > 1:  # the request paid for the first call
            while (wait := principal.requests.take()) > 0 and not self._wait(wait):
                pass
        if self._cancel is not None and self._cancel.is_set():
            return build_envelope(
                ErrorCode.CANCELLED, f"cancelled before a call of step {step!r}",
                details={"step": step},
            )  # fmt: skip
        return {}

    def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds``; True when the run was cancelled meanwhile."""
        if self._cancel is None:
            time.sleep(seconds)
            return False
        return self._cancel.wait(seconds)
