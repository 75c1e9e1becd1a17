"""The ids a log line carries about its request: the request id and the API key's id.

Set by the doors' middleware (request id) and the auth middleware (key id), read by the
JSON log formatter; context variables, so each request, task and thread sees its own
(Starlette's thread pool copies them into ``run_in_threadpool``).
"""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("visor_request_id", default=None)
key_id: ContextVar[str | None] = ContextVar("visor_key_id", default=None)
