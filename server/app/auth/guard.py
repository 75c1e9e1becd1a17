"""The per-call check for running a tool: scope ``run`` and the key's concurrency quota.

Routes are checked by the middleware; a tool call is checked here, once, in
``PluginManagementService.run`` — the place every door's tool calls pass (REST, MCP
``tools/call``, the CLI's in-process mode). The job dispatcher runs with no principal: a
job's caller was checked when it was submitted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from app.auth.principal import current_principal
from app.auth.scopes import Access
from app.errors import ErrorCode, build_envelope

#: Seconds a client is told to wait when its key already runs its maximum of tool calls.
CONCURRENCY_RETRY_S = 1


@contextmanager
def tool_call() -> Iterator[dict[str, Any]]:
    """Yields ``{}`` when the call may run (holding a slot until the block ends), else the
    error envelope to return instead."""
    principal = current_principal()
    if principal is None:
        yield {}
        return
    if not principal.allows(Access.RUN):
        yield build_envelope(
            ErrorCode.FORBIDDEN,
            f"key {principal.key_id} has scope {principal.scope.value}; running tools needs run",
            details={"scope": principal.scope.value, "required": "run"},
        )
        return
    if not principal.calls.try_acquire():
        yield build_envelope(
            ErrorCode.RATE_LIMITED,
            f"key {principal.key_id} already runs {principal.calls.limit} tool calls at once",
            details={"limit": principal.calls.limit, "retry_after_s": CONCURRENCY_RETRY_S},
        )
        return
    try:
        yield {}
    finally:
        principal.calls.release()
