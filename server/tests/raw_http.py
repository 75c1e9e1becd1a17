"""Speaking HTTP/1.1 over a plain socket, for tests about what clients can do to the
connection itself (half-close, partial headers, ``Expect: 100-continue``) that an HTTP
client library would never do."""

from __future__ import annotations

import socket

_TIMEOUT_S = 60.0  # bounds a hang; never a timing assertion


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=_TIMEOUT_S)
    sock.settimeout(_TIMEOUT_S)
    return sock


def request_head(method: str, path: str, body_length: int, *extra: str) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Content-Length: {body_length}",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    """Read until ``marker`` arrived (or the peer closed); return all bytes read."""
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes the connection ('' if it closed without a word;
    a reset counts as closed)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def status_of(response: bytes) -> int | None:
    """The status of the last response in ``response`` (skipping ``100 Continue``)."""
    heads = [part for part in response.split(b"\r\n\r\n") if part.startswith(b"HTTP/1.1 ")]
    final = [head for head in heads if not head.startswith(b"HTTP/1.1 100")]
    if not final:
        return None
    return int(final[-1].split(b" ", 2)[1])


def body_of(response: bytes) -> bytes:
    """The body of a (non-chunked) final response."""
    head, _, body = response.rpartition(b"\r\n\r\n")
    return body if head else b""
