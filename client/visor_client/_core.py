"""What the sync and async clients share: configuration, the description of one HTTP call,
the retry decision, turning answers into results or exceptions, and SSE parsing.

Both clients are thin loops over these pieces (send, ask :class:`RetryPolicy`, sleep,
resend), so they cannot drift apart in what they send or how they fail.
"""

from __future__ import annotations

import email.utils
import os
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from visor_client.errors import (
    VisorConnectionError,
    VisorError,
    VisorTimeout,
    error_from_envelope,
)

DEFAULT_URL = "http://127.0.0.1:8000"
URL_ENV = "VISOR_URL"
KEY_ENV = "VISOR_API_KEY"
#: The header that makes a job submit safe to resend (the server keeps the first job).
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_RETRY_CODES = frozenset({"overloaded", "rate_limited"})


def base_url(url: str | None) -> str:
    """The server's base URL: the argument, else ``VISOR_URL``, else the local default.
    ``host:port`` alone means ``http://host:port``."""
    value = (url or os.environ.get(URL_ENV) or DEFAULT_URL).strip().rstrip("/")
    return value if "://" in value else f"http://{value}"


def auth_headers(api_key: str | None) -> dict[str, str]:
    key = api_key if api_key is not None else os.environ.get(KEY_ENV)
    return {"Authorization": f"Bearer {key}"} if key else {}


def http_timeout(timeout_s: float | None, connect_s: float) -> httpx.Timeout:
    return httpx.Timeout(timeout_s, connect=min(connect_s, timeout_s or connect_s))


def new_idempotency_key() -> str:
    return f"visor-client-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Upload:
    """A multipart file part, re-opened for every attempt (so a retry sends it whole)."""

    field: str
    source: bytes | Path
    filename: str | None = None

    def open(self, stack: ExitStack) -> tuple[str, Any]:
        if isinstance(self.source, bytes):
            return (self.filename or "upload", self.source)
        handle = stack.enter_context(self.source.open("rb"))  # streamed, never read whole
        return (self.filename or self.source.name, handle)


@dataclass(frozen=True)
class Call:
    """One HTTP call as the client means it, before any attempt is made.

    ``resendable``: the call may be sent again after the connection dropped mid-request
    (the server may have acted on it): true for reads, for calls without side effects and
    for submits carrying an ``Idempotency-Key``.
    """

    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    content: bytes | None = None
    data: dict[str, str] | None = None
    upload: Upload | None = None
    headers: dict[str, str] = field(default_factory=dict)
    resendable: bool = True
    timeout: httpx.Timeout | None = None

    def request_kwargs(self, stack: ExitStack) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"headers": self.headers}
        if self.params:
            kwargs["params"] = {k: _param(v) for k, v in self.params.items() if v is not None}
        if self.json is not None:
            kwargs["json"] = self.json
        if self.content is not None:
            kwargs["content"] = self.content
        if self.data is not None:
            kwargs["data"] = self.data
        if self.upload is not None:
            kwargs["files"] = {self.upload.field: self.upload.open(stack)}
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        return kwargs


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return getattr(value, "value", value)  # enums


@dataclass(frozen=True)
class RetryPolicy:
    """When to try a call again, and after how long.

    Retried: ``overloaded`` (503) and ``rate_limited`` (429) answers, after the server's
    ``Retry-After`` (else exponential backoff with jitter); a connection that could not be
    made; a connection dropped mid-call, for resendable calls only. Not retried: a client
    timeout (the server may still be working) and every other error.
    """

    max_retries: int = 3
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    #: A ``Retry-After`` longer than this is not waited for: the error is raised instead.
    max_retry_after_s: float = 60.0

    def backoff(self, attempt: int) -> float:
        return float(
            min(self.max_backoff_s, self.backoff_s * 2**attempt) * random.uniform(0.5, 1.0)
        )

    def after_response(self, call: Call, attempt: int, response: httpx.Response) -> float | None:
        """Seconds to wait before resending ``call``, or ``None`` to take this answer."""
        if response.status_code not in (429, 503) or attempt >= self.max_retries:
            return None
        if response.status_code == 503 and _code_of(response) not in _RETRY_CODES:
            return None  # plugin_unavailable and friends: waiting will not help
        retry_after = retry_after_s(response)
        if retry_after is None:
            return self.backoff(attempt)
        return retry_after if retry_after <= self.max_retry_after_s else None

    def after_transport_error(
        self, call: Call, attempt: int, exc: httpx.TransportError
    ) -> float | None:
        if attempt >= self.max_retries:
            return None
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):  # nothing was sent
            return self.backoff(attempt)
        if isinstance(exc, httpx.TimeoutException):  # the server may still be working
            return None
        if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError) and call.resendable:
            return self.backoff(attempt)
        return None


def _code_of(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = (body["error"].get("details") or {}).get("code")
        return str(code) if code is not None else None
    return None


def retry_after_s(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds (delta-seconds or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return None if parsed is None else max(0.0, parsed.timestamp() - time.time())


def answer(response: httpx.Response) -> Any:
    """The JSON body of a successful answer; the matching :class:`VisorError` otherwise."""
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    if response.is_success:
        return body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        raise error_from_envelope(body, response.status_code, retry_after_s(response))
    raise VisorError(
        f"{response.request.method} {response.request.url.path} answered HTTP "
        f"{response.status_code} without a Visor error envelope (is this a Visor server?)",
        code="not_visor",
        status=response.status_code,
    )


def transport_error(url: str, exc: httpx.TransportError) -> VisorError:
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        return VisorTimeout(f"no answer from {url} in time ({type(exc).__name__})")
    return VisorConnectionError(
        f"cannot reach the Visor server at {url}: {type(exc).__name__}: {exc}"
    )


def ws_url(http_url: str, path: str, args: dict[str, Any] | None) -> str:
    """The WebSocket URL of a stream path; ``args`` go in the ``args`` query parameter."""
    scheme, rest = http_url.split("://", 1)
    url = f"{'wss' if scheme == 'https' else 'ws'}://{rest}{path}"
    if args:
        import json

        url += "?" + urlencode({"args": json.dumps(args)}, quote_via=quote)
    return url


@dataclass
class SSEParser:
    """Server-Sent Events from lines of text (the WHATWG rules Visor's events need:
    ``event``, ``data`` joined by newlines, comments ignored, a blank line dispatches).
    Fed line by line so a caller can check its own deadline between lines, pings included."""

    event: str = ""
    data: list[str] = field(default_factory=list)

    def feed(self, line: str) -> tuple[str, str] | None:
        if not line:
            if not self.data:
                self.event = ""
                return None
            found = (self.event or "message", "\n".join(self.data))
            self.event, self.data = "", []
            return found
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self.event = value
        elif name == "data":
            self.data.append(value)
        return None


def lines_to_events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    parser = SSEParser()
    for line in lines:
        found = parser.feed(line)
        if found is not None:
            yield found
