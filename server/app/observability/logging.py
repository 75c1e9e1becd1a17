"""Server logging: one format, and no log line a client or a plugin can forge.

Whatever reaches a log record from outside — a plugin name, a path, a tool's message or
output, an exception text — may hold newlines, carriage returns, NUL, terminal escapes or
lone surrogates. The formatter escapes them: in the record's arguments every control
character becomes a visible escape (``\\n``, ``\\x00``); a traceback keeps its lines, each
indented under its record, so no line a client wrote can start a record of its own.
Uvicorn's loggers (the access log carries the request path) get the same escaping.

``VISOR_LOG_FORMAT=json`` swaps the formatter for :class:`JsonFormatter`: one JSON object
per line (JSON escapes every control character, so the same guarantee holds), with the
request id, trace id and key id of the request being served and, on a call's line, its
plugin, tool, outcome and elapsed time. The access log goes through it too.
"""

from __future__ import annotations

import datetime
import logging
import re
from typing import Any

import orjson

from app.observability import correlation
from app.tracing import spans as tracing

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


#: Fields a call's log line carries (``extra=`` in ToolRunner), copied when present.
_CALL_FIELDS = ("plugin", "tool", "outcome", "error_code", "elapsed_ms")
#: uvicorn's access record: ``(client, method, path, http version, status)``.
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; see the module docstring for the fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": _message(record),
        }
        request_id = correlation.request_id.get() or getattr(record, "call_id", None)
        if request_id:
            entry["request_id"] = request_id
        trace_id = tracing.current_trace_id()
        if trace_id:
            entry["trace_id"] = trace_id
        key_id = correlation.key_id.get()
        if key_id:
            entry["key_id"] = key_id
        for name in _CALL_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            entry.update(zip(_ACCESS_FIELDS, record.args, strict=False))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def _message(record: logging.LogRecord) -> str:
    try:
        text = record.getMessage()
    except Exception:  # a bad format string must not lose the line
        text = f"{record.msg!r} {record.args!r}"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates


_UVICORN_LOGGERS = ("uvicorn.access", "uvicorn.error")


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Attach one handler to the ``visor`` logger tree and escaping to uvicorn's (idempotent).

    ``fmt="json"``: every line as JSON (:class:`JsonFormatter`), uvicorn's included, and a
    line per tool call (``visor.calls``); text mode keeps the call lines off."""
    formatter: logging.Formatter = JsonFormatter() if fmt == "json" else SafeFormatter(_FORMAT)
    root = logging.getLogger("visor")
    root.setLevel(level.upper())
    handler = next((h for h in root.handlers if getattr(h, "_visor", False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler._visor = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.propagate = False
    handler.setFormatter(formatter)
    # One line per call is for machines: in text mode the readable default stays as it was.
    logging.getLogger("visor.calls").setLevel(logging.NOTSET if fmt == "json" else logging.WARNING)
    for name in _UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, EscapeArgsFilter) for f in logger.filters):
            logger.addFilter(EscapeArgsFilter())
        if fmt == "json":
            for uvicorn_handler in logger.handlers:
                uvicorn_handler.setFormatter(formatter)
            if not logger.handlers:
                logger.addHandler(handler)
                logger.propagate = False


def uvicorn_log_config(fmt: str) -> dict[str, Any]:
    """uvicorn options for ``fmt``: none for text (uvicorn's own logging config); for JSON
    a ``log_config`` whose loggers print through :class:`JsonFormatter` from the first line
    on (``log_config=None`` would leave uvicorn's loggers unconfigured and silent)."""
    if fmt != "json":
        return {}
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"default": handler},
        "loggers": {
            name: {"handlers": ["default"], "level": "INFO", "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
    return {"log_config": config}
