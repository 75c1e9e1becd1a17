"""Server logging: one format, and no log line a client or a plugin can forge.

Whatever reaches a log record from outside — a plugin name, a path, a tool's message or
output, an exception text — may hold newlines, carriage returns, NUL, terminal escapes or
lone surrogates. The formatter escapes them: in the record's arguments every control
character becomes a visible escape (``\\n``, ``\\x00``); a traceback keeps its lines, each
indented under its record, so no line a client wrote can start a record of its own.
Uvicorn's loggers (the access log carries the request path) get the same escaping.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_CONTINUATION = "\n    "
_TRACEBACK = "Traceback (most recent call last):"


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code == 0x0A:
        return "\\n"
    if code == 0x0D:
        return "\\r"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` on one line: control characters and lone surrogates as visible escapes."""
    if _CONTROL.search(text):
        text = _CONTROL.sub(_escape_char, text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def indent_lines(text: str) -> str:
    """Multi-line text (a traceback) kept readable: other control characters escaped, every
    line after the first indented under the record."""
    lines = text.split("\n")
    return _CONTINUATION.join(escape_controls(line) for line in lines)


def _safe_arg(value: Any) -> Any:
    if isinstance(value, str):
        return indent_lines(value) if _TRACEBACK in value else escape_controls(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    return escape_controls(str(value))


def _safe_args(args: Any) -> Any:
    if isinstance(args, tuple):
        return tuple(_safe_arg(a) for a in args)
    if isinstance(args, dict):
        return {k: _safe_arg(v) for k, v in args.items()}
    return args


class SafeFormatter(logging.Formatter):
    """The standard format with every outside value escaped (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        safe = logging.makeLogRecord(record.__dict__)
        if isinstance(safe.msg, str):
            safe.msg = indent_lines(safe.msg)  # Visor's own format string: keep its lines
        else:
            safe.msg = escape_controls(str(safe.msg))
        safe.args = _safe_args(record.args)
        text = super().format(safe)
        # exc_info / stack traces appended by the base class: keep lines, indent them.
        return indent_lines(text) if "\n" in text else text


class EscapeArgsFilter(logging.Filter):
    """For loggers whose handlers Visor does not own (uvicorn): escape the arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.args = _safe_args(record.args)
        if isinstance(record.msg, str) and not record.args:
            record.msg = escape_controls(record.msg)
        return True


_UVICORN_LOGGERS = ("uvicorn.access", "uvicorn.error")


def configure_logging(level: str = "INFO") -> None:
    """Attach one handler to the ``visor`` logger tree and escaping to uvicorn's (idempotent)."""
    root = logging.getLogger("visor")
    root.setLevel(level.upper())
    if not any(getattr(h, "_visor", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(SafeFormatter(_FORMAT))
        handler._visor = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.propagate = False
    for name in _UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, EscapeArgsFilter) for f in logger.filters):
            logger.addFilter(EscapeArgsFilter())
