"""VISOR_LOG_FORMAT=json on a real ``visor serve``: one JSON object per line, a call's line
with request id, key id (never the secret), plugin, tool, outcome and elapsed; uvicorn's
access log through the same formatter; and the default stays readable text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
from server_process import ServerProcess
from waiting import wait_until

from app.auth.keys import key_id_of


def _create_key(data_dir: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "app", "keys", "create", "logs", "--scope", "run",
         "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


def _records(log: Path) -> list[dict[str, Any]]:
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    return [orjson.loads(line) for line in lines]  # every line must be one JSON object


def test_json_logs_carry_the_request_and_the_call(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    secret = _create_key(data_dir)
    log = tmp_path / "server.log"
    server = ServerProcess(data_dir, log, env={"VISOR_LOG_FORMAT": "json"}).start()
    try:
        response = server.http.post(
            "/v1/analyze",
            json={"plugin": "echo", "tool": "echo", "args": {"text": "hi"}},
            headers={"Authorization": f"Bearer {secret}", "X-Request-ID": "req-json-1"},
        )
        assert response.status_code == 200, response.text

        def call_and_access() -> list[dict[str, Any]] | None:
            records = _records(log)
            loggers = {r.get("logger") for r in records if r.get("request_id") == "req-json-1"}
            return records if {"visor.calls", "uvicorn.access"} <= loggers else None

        records = wait_until(call_and_access, "the call's and the access log's lines")
    finally:
        server.stop()
    ours = [r for r in records if r.get("request_id") == "req-json-1"]
    call = next(r for r in ours if r["logger"] == "visor.calls")
    assert call["plugin"] == "echo" and call["tool"] == "echo"
    assert call["outcome"] == "SUCCESS"
    assert isinstance(call["elapsed_ms"], float)
    assert call["key_id"] == key_id_of(secret)  # the public id, never the secret
    access = next(r for r in ours if r["logger"] == "uvicorn.access")
    assert access["status"] == 200 and access["path"] == "/v1/analyze"
    assert access["key_id"] == call["key_id"]
    assert secret not in log.read_text()
    assert {"ts", "level", "message"} <= set(call)


def test_text_logs_stay_readable_and_quiet_about_each_call(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    server = ServerProcess(tmp_path / "data", log).start()
    try:
        response = server.http.post(
            "/v1/analyze", json={"plugin": "echo", "tool": "echo", "args": {"text": "hi"}}
        )
        assert response.status_code == 200, response.text
        wait_until(lambda: "POST /v1/analyze" in log.read_text(), "the access log line")
    finally:
        server.stop()
    text = log.read_text()
    assert "visor ready" in text
    assert not any(line.startswith("{") for line in text.splitlines())
    assert "visor.calls" not in text
