"""Issue 24: on SIGTERM, 2 of 20 in-flight calls got 503 at +0.1 s instead of finishing
within VISOR_SHUTDOWN_TIMEOUT_S.

The executors closed their doors the moment shutdown began, while requests uvicorn had
already accepted were still on their way to a tool (reading their body, waiting for a
thread). Here the requests are provably in flight — the server has parsed their headers
and asked for the body (``100 Continue``) — when the SIGTERM arrives; their bodies follow,
and every one of them must be served by the slow tool, not refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from raw_http import body_of, connect, read_all, read_until, request_head, status_of
from server_process import ServerProcess

pytestmark = pytest.mark.slow

CALLS = 4  # echo gets 2 workers: two run, two wait in its queue


def test_requests_in_flight_at_sigterm_are_served_not_refused(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "data",
        tmp_path / "server.log",
        allowlist="visor_test_echo",
        env={"VISOR_SHUTDOWN_TIMEOUT_S": "60", "VISOR_PLUGIN_WORKERS": '{"echo": 2}'},
    ).start()
    body = json.dumps({"seconds": 0.5, "steps": 5}).encode()
    sockets = []
    try:
        for _ in range(CALLS):
            sock = connect(server.port)
            head = request_head(
                "POST", "/v1/plugins/echo/tools/sleep/run", len(body), "Expect: 100-continue"
            )
            sock.sendall(head)
            assert b"100 Continue" in read_until(sock, b"\r\n\r\n")  # the app awaits the body
            sockets.append(sock)
        assert server.proc is not None
        server.proc.terminate()  # SIGTERM: shutdown begins with all four in flight
        for sock in sockets:
            sock.sendall(body)
        answers = [read_all(sock) for sock in sockets]
        statuses = [status_of(answer) for answer in answers]
        assert statuses == [200] * CALLS, [body_of(a)[:300] for a in answers]
        for answer in answers:
            assert json.loads(body_of(answer))["result"] == {"slept": True}
        server.proc.wait(60)  # and the server still exits
    finally:
        for sock in sockets:
            sock.close()
        server.stop()
