"""The HTTP/1.1 protocol Visor serves with: uvicorn's httptools protocol plus the guards
it lacks (issue 24).

uvicorn bounds neither the size nor the number of request headers on its httptools
parser, and no timer runs while a request's headers arrive: its keep-alive timer stops at
the first byte. A client could hold 1,000 connections with half-sent headers for as long as
it liked, and send 200 kB of headers or 20,000 of them. Here:

- **Header size and count.** The request line and headers may take ``max_header_bytes``
  and ``max_header_count`` fields, counted as the parser reports them and, for a head
  still arriving, as bytes received: a 200 kB header is refused as it crosses the limit,
  not buffered whole. The answer is ``400 invalid_input`` (an envelope) and the
  connection closes.
- **Header deadline.** A connection must deliver a complete head within
  ``header_timeout_s`` of opening, or of its first byte after the previous response;
  otherwise it is closed without an answer (there is no request to answer). Between
  requests uvicorn's own keep-alive timeout still applies.
- **Half-close.** A client that sends its request and then shuts down its sending side
  (``shutdown(SHUT_WR)``, as some HTTP/1.0-style clients and proxies do) still gets its
  answer. uvicorn treated the end-of-file as a disconnect and closed the transport, so a
  ``POST /v1/jobs`` created its job and the client never heard of it (and a retrying
  client made a duplicate). A complete request keeps the connection open for writing;
  the connection closes after the response. End-of-file in the middle of a request is
  still a disconnect.

The checks cost a counter per header and a timer per request head.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.errors import ErrorCode, build_envelope, public_error

#: Per header line, the parser drops ": " and CRLF; count them like the bytes on the wire.
_LINE_OVERHEAD = 4


@dataclass(frozen=True)
class ConnectionLimits:
    max_header_bytes: int = 32 * 1024
    max_header_count: int = 100
    header_timeout_s: float = 10.0

    @classmethod
    def from_settings(cls, settings: Any) -> ConnectionLimits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            max_header_count=settings.max_header_count,
            header_timeout_s=settings.header_timeout_s,
        )


@lru_cache(maxsize=1)
def _limits_from_environment() -> ConnectionLimits:
    from app.settings import Settings

    return ConnectionLimits.from_settings(Settings())


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header limits, a header deadline and half-close.

    ``limits`` is bound by :func:`protocol_with`; unbound (a server process uvicorn's
    supervisor started, which imports this class by name), it comes from the ``VISOR_*``
    environment, read once per process.
    """

    limits: ClassVar[ConnectionLimits | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = self.limits or _limits_from_environment()
        self._max_bytes = self._limits.max_header_bytes
        self._in_head = True  # reading a request line and headers (or waiting for one)
        self._head_received = 0  # bytes received while in a head: bounds a partial header
        self._head_bytes = 0  # bytes of the request line and headers parsed so far
        self._head_count = 0
        self._refusal: str | None = None
        self._head_timer: asyncio.TimerHandle | None = None

    # -- connection ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            if self._head_timer is None:  # first byte of a request after a response
                self._arm_head_timer()
            self._head_received += len(data)
        super().data_received(data)
        if self._refusal is None and self._in_head and self._head_received > self._max_bytes:
            self._refusal = f"request headers exceed {self._max_bytes} bytes"
        if self._refusal is not None and not self.transport.is_closing():
            self._refuse(self._refusal)

    def eof_received(self) -> bool | None:  # type: ignore[override]
        """Keep the connection open for the answer to a complete request (half-close)."""
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and not cycle.more_body:
            cycle.keep_alive = False  # close once the answer is written
            return True
        return None  # nothing complete to answer: close, as a disconnect

    # -- parser callbacks ---------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._head_bytes = self._head_count = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._head_bytes += len(url)
        if self._head_bytes > self._max_bytes:
            self._refusal = f"request headers exceed {self._max_bytes} bytes"
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + _LINE_OVERHEAD
        self._head_count += 1
        if self._head_count > self._limits.max_header_count:
            self._refusal = f"more than {self._limits.max_header_count} request headers"
        elif self._head_bytes > self._max_bytes:
            self._refusal = f"request headers exceed {self._max_bytes} bytes"
        if self._refusal is None:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_received = 0
        self._disarm_head_timer()
        if self._refusal is None:  # a refused head never reaches the app
            super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._refusal is None:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refusal is None:
            super().on_message_complete()
        self._in_head = True  # the next bytes start the next request

    # -- guards -------------------------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self._limits.header_timeout_s, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            self.transport.close()

    def _refuse(self, message: str) -> None:
        """Answer 400 with an envelope and close: the head is not read any further."""
        self._disarm_head_timer()
        import orjson

        envelope = build_envelope(
            ErrorCode.INVALID_INPUT,
            message,
            details={
                "max_header_bytes": self._max_bytes,
                "max_header_count": self._limits.max_header_count,
            },
        )
        body = orjson.dumps(public_error(envelope))
        head = (
            b"HTTP/1.1 400 Bad Request\r\n"
            b"content-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n"
        )
        self.transport.write(head + body)
        self.transport.close()


def protocol_with(limits: ConnectionLimits) -> type[GuardedHttpProtocol]:
    """:class:`GuardedHttpProtocol` bound to ``limits`` (for a server in this process)."""
    return type("BoundGuardedHttpProtocol", (GuardedHttpProtocol,), {"limits": limits})
