"""The envelope: exact keys and types, one table, nothing internal leaks."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.errors import (
    ERROR_TABLE,
    ErrorCode,
    ErrorInfo,
    ErrorType,
    VisorError,
    build_envelope,
    envelope_from_exception,
    http_status_for,
    public_error,
)

SPEC_TABLE = {
    "invalid_input": ("ValidationError", 400),
    "plugin_not_found": ("PluginError", 404),
    "tool_not_found": ("PluginError", 404),
    "plugin_unavailable": ("PluginError", 503),
    "tool_error": ("ExecutionError", 500),
    "invalid_output": ("ValidationError", 500),
    "timeout": ("ExecutionError", 504),
    "worker_crashed": ("ExecutionError", 500),
    "memory_limit": ("ExecutionError", 500),
    "overloaded": ("ExecutionError", 503),
    "internal": ("InternalError", 500),
}


@pytest.mark.parametrize(("code", "expected"), sorted(SPEC_TABLE.items()))
def test_table_matches_spec(code: str, expected: tuple[str, int]) -> None:
    error_type, status = ERROR_TABLE[ErrorCode(code)]
    assert (error_type.value, status) == expected


def test_envelope_has_exact_keys_and_types() -> None:
    try:
        raise ValueError("kaput")
    except ValueError as exc:
        envelope = build_envelope(
            ErrorCode.TOOL_ERROR, "it broke", details={"hint": 1}, plugin="p", exc=exc
        )
    assert set(envelope) == {"error", "_internal"}
    error = envelope["error"]
    assert set(error) == {"type", "message", "details", "plugin", "timestamp"}
    assert error["type"] == "ExecutionError"
    assert error["message"] == "it broke"
    assert error["details"] == {"hint": 1, "code": "tool_error"}
    assert error["plugin"] == "p"
    stamp = datetime.fromisoformat(error["timestamp"].replace("Z", "+00:00"))
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0
    assert set(envelope["_internal"]) == {"traceback"}
    assert "ValueError: kaput" in envelope["_internal"]["traceback"]
    ErrorInfo.model_validate(error)  # the documented model accepts it


def test_every_type_is_one_of_four() -> None:
    assert {t.value for t in ErrorType} == {
        "ValidationError",
        "ExecutionError",
        "PluginError",
        "InternalError",
    }
    for code in ErrorCode:
        envelope = build_envelope(code, "m")
        assert envelope["error"]["type"] in {t.value for t in ErrorType}
        assert envelope["error"]["details"]["code"] == code.value
        assert http_status_for(envelope) == ERROR_TABLE[code][1]


def test_public_error_drops_internal() -> None:
    envelope = build_envelope(ErrorCode.INTERNAL, "bug", exc=RuntimeError("secret"))
    public = public_error(envelope)
    assert public == {"error": envelope["error"]}
    assert "_internal" not in public


def test_visor_error_keeps_code_details_and_plugin() -> None:
    exc = VisorError("gone", code=ErrorCode.PLUGIN_UNAVAILABLE, details={"x": 1}, plugin="ocr")
    envelope = envelope_from_exception(exc)
    assert envelope["error"]["type"] == "PluginError"
    assert envelope["error"]["plugin"] == "ocr"
    assert envelope["error"]["details"] == {"x": 1, "code": "plugin_unavailable"}
    assert exc.http_status == 503
