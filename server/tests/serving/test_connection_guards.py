"""Issue 24 items 13 and 14: what a client can do to a connection before (or after) its
request, against a real ``visor serve`` (app.serving, GuardedHttpProtocol) with small
limits set through the environment, spoken over raw sockets.

- 14: 1,000 connections with partial headers were held over 60 s; a 200 kB header and
  20,000 headers were accepted.
- 13: a POST followed by the client's half-close got no answer though the job was made.
"""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from raw_http import body_of, connect, read_all, request_head, status_of
from server_process import ServerProcess

pytestmark = pytest.mark.slow

MAX_HEADER_BYTES = 4096
MAX_HEADER_COUNT = 20


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root: Path = tmp_path_factory.mktemp("guards")
    process = ServerProcess(
        root / "data",
        root / "server.log",
        env={
            "VISOR_MAX_HEADER_BYTES": str(MAX_HEADER_BYTES),
            "VISOR_MAX_HEADER_COUNT": str(MAX_HEADER_COUNT),
            "VISOR_HEADER_TIMEOUT_S": "0.5",
        },
    ).start()
    yield process
    process.stop()


def _get(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _closed_by_server(sock: socket.socket) -> bool:
    """True once the server closed the connection (end-of-file or a reset)."""
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def test_a_normal_request_with_a_large_body_is_served(server: ServerProcess) -> None:
    body = json.dumps({"text": "x" * 9_000}).encode()  # head and body in one read > the limit
    with connect(server.port) as sock:
        sock.sendall(request_head("POST", "/v1/plugins/echo/tools/echo/run", len(body)) + body)
        answer = read_until_complete(sock)
    assert status_of(answer) == 200, answer[:500]


def test_headers_larger_than_the_limit_are_refused_with_an_envelope(
    server: ServerProcess,
) -> None:
    for headers in (
        ["X-Big: " + "a" * 200_000],  # one 200 kB header
        [f"X-H{i}: {i}" for i in range(20_000)],  # 20,000 headers
    ):
        with connect(server.port) as sock:
            sock.sendall(_get("/v1/health", *headers))
            answer = read_all(sock)
        assert status_of(answer) == 400, answer[:300]
        error = json.loads(body_of(answer))["error"]
        assert error["details"]["code"] == "invalid_input"
        assert error["details"]["max_header_bytes"] == MAX_HEADER_BYTES


def test_more_headers_than_the_count_limit_are_refused(server: ServerProcess) -> None:
    headers = [f"X-H{i}: {i}" for i in range(MAX_HEADER_COUNT + 5)]  # small: under the size
    with connect(server.port) as sock:
        sock.sendall(_get("/v1/health", *headers))
        answer = read_all(sock)
    assert status_of(answer) == 400, answer[:300]
    assert f"more than {MAX_HEADER_COUNT}" in json.loads(body_of(answer))["error"]["message"]
    with connect(server.port) as sock:  # within the limits: served
        sock.sendall(_get("/v1/health", *headers[: MAX_HEADER_COUNT - 3]))
        assert status_of(read_all(sock)) == 200


def test_connections_that_never_finish_their_headers_are_closed(server: ServerProcess) -> None:
    silent = [connect(server.port) for _ in range(20)]  # not a byte
    partial = [connect(server.port) for _ in range(20)]
    for sock in partial:
        sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    try:
        for sock in silent + partial:  # each recv is bounded by the socket's timeout
            assert _closed_by_server(sock)
        with connect(server.port) as dripping:  # one byte at a time never resets the clock
            for byte in b"GET /v1/health HTTP/1.1\r\nHost: x\r\n" + b"X" * 100_000:
                readable, _, _ = select.select([dripping], [], [], 0.05)
                if readable:
                    break
                dripping.sendall(bytes([byte]))
            assert _closed_by_server(dripping)
    finally:
        for sock in silent + partial:
            sock.close()


def test_a_half_closed_post_still_gets_its_answer(server: ServerProcess) -> None:
    """Item 13: shutdown(SHUT_WR) after the body; the job was created, the 202 was lost."""
    body = json.dumps({"plugin": "echo", "tool": "echo", "args": {"text": "half"}}).encode()
    head = request_head("POST", "/v1/jobs", len(body), "Idempotency-Key: half-1")
    with connect(server.port) as sock:
        sock.sendall(head + body)
        sock.shutdown(socket.SHUT_WR)
        answer = read_all(sock)
    assert status_of(answer) == 202, answer[:300]
    job = json.loads(body_of(answer))
    assert server.job(job["id"])["id"] == job["id"]
    # A client that lost that answer anyway retries with the same key: the same job.
    with connect(server.port) as sock:
        sock.sendall(head + body)
        sock.shutdown(socket.SHUT_WR)
        retry = read_all(sock)
    assert status_of(retry) == 200, retry[:300]
    assert json.loads(body_of(retry))["id"] == job["id"]


def read_until_complete(sock: socket.socket) -> bytes:
    """One response with a content-length (the connection may stay open)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body
