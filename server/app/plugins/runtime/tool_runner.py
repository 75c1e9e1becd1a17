"""ToolRunner: the single execution choke point for every door into Visor.

``run`` resolves the plugin and tool, validates the input, executes through the executor
seam, validates the output and records metrics (in ``finally``, for every outcome). It
returns ``(result, error)`` with exactly one non-empty, and never raises for anything a
plugin, a payload or a missing plugin can cause: this is the one boundary where plugin
exceptions are caught.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from app.errors import ErrorCode, VisorError, build_envelope, envelope_from_exception
from app.plugins.base import ToolSpec
from app.plugins.loader.plugin_registry import (
    RUNNABLE_STATES,
    ExecutionOutcome,
    PluginRecord,
    PluginRegistry,
    PluginState,
    get_registry,
)
from app.plugins.runtime.executor import (
    CallContext,
    Executor,
    ToolCall,
    ToolFailed,
    current_call_context,
)
from app.plugins.runtime.validation import summarise, validator_for
from app.tracing import spans as tracing

log = logging.getLogger("visor.runner")
#: One line per call (plugin, tool, outcome, elapsed): on for JSON logs, quiet for text.
call_log = logging.getLogger("visor.calls")

Result = dict[str, Any]
Envelope = dict[str, Any]

_OUTCOME_BY_CODE: dict[ErrorCode, ExecutionOutcome] = {
    ErrorCode.TIMEOUT: ExecutionOutcome.FAILED,
    ErrorCode.WORKER_CRASHED: ExecutionOutcome.FAILED,
    ErrorCode.MEMORY_LIMIT: ExecutionOutcome.FAILED,
    ErrorCode.PLUGIN_UNAVAILABLE: ExecutionOutcome.UNAVAILABLE,
}

_DUMP_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

#: Failures the caller caused: logged briefly, without a traceback.
_CLIENT_CODES = frozenset(
    {
        ErrorCode.INVALID_INPUT.value,
        ErrorCode.PLUGIN_NOT_FOUND.value,
        ErrorCode.TOOL_NOT_FOUND.value,
        ErrorCode.PLUGIN_UNAVAILABLE.value,
        ErrorCode.OVERLOADED.value,
        ErrorCode.CANCELLED.value,
        ErrorCode.PAYLOAD_TOO_LARGE.value,
    }
)
#: Failures whose traceback is Visor's own checking code, not the plugin's: the message
#: (what the tool returned, and what it broke) is the whole story.
_NO_TRACEBACK_CODES = frozenset({ErrorCode.INVALID_OUTPUT.value})

#: Turns the caller's form of an input (an image reference) into what the schema asks for.
InputResolver = Callable[[ToolSpec, dict[str, Any]], dict[str, Any]]

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_RESULT_BYTES = 32 * 1024 * 1024


def select_tool(tool: str | None, payload: Any, default: str | None) -> str | None:
    """The tool a call means: the ``tool`` argument, else ``payload["tool"]``, else the
    plugin's default (None when it has several tools and no default)."""
    if tool is not None:
        return tool
    if isinstance(payload, dict):
        selected = payload.get("tool")
        if isinstance(selected, str):
            return selected
    return default


class ToolRunner:
    def __init__(
        self,
        *,
        registry: PluginRegistry | None = None,
        executor: Executor | None = None,
        default_timeout_s: float | None = DEFAULT_TIMEOUT_S,
        timeout_overrides: Mapping[str, float] | None = None,
        max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
        input_resolver: InputResolver | None = None,
    ) -> None:
        self._registry = registry if registry is not None else get_registry()
        self._executor = executor
        self._default_timeout_s = default_timeout_s
        self._timeouts = dict(timeout_overrides or {})
        self._max_result_bytes = max_result_bytes
        self._input_resolver = input_resolver

    @property
    def registry(self) -> PluginRegistry:
        return self._registry

    @property
    def executor(self) -> Executor:
        if self._executor is None:  # ToolRunner() standalone: trusted in-process default
            from app.plugins.runtime.in_process import InProcessExecutor

            self._executor = InProcessExecutor()
        return self._executor

    # -- the contract -----------------------------------------------------------------------

    def run(
        self, plugin_name: str, payload: dict[str, Any], tool: str | None = None
    ) -> tuple[Result, Envelope]:
        if not tracing.enabled():
            return self._run(plugin_name, payload, tool, None)
        attributes = {"visor.plugin": plugin_name if isinstance(plugin_name, str) else "?"}
        with tracing.span("visor.call", attributes) as span:
            return self._run(plugin_name, payload, tool, span)

    def _run(
        self, plugin_name: str, payload: dict[str, Any], tool: str | None, span: Any
    ) -> tuple[Result, Envelope]:
        started = time.perf_counter()
        outcome = ExecutionOutcome.ERROR
        tool_name: str | None = None
        code: ErrorCode | None = None
        reason: str | None = None
        result: Result = {}
        error: Envelope = {}
        try:
            record, spec = self._resolve(plugin_name, payload, tool)
            tool_name = spec.name
            if span is None:  # untraced: the steps exactly as they were before tracing
                if self._input_resolver is not None and isinstance(payload, dict):
                    payload = self._input_resolver(spec, payload)  # image references → image
                args = self._validated_input(plugin_name, spec, payload)
                raw = self._execute(record, spec, args)
                result = self._validated_output(plugin_name, spec, raw)
            else:
                result = self._traced_steps(plugin_name, record, spec, payload)
            outcome = ExecutionOutcome.SUCCESS
        except VisorError as exc:
            code = exc.code
            outcome = _OUTCOME_BY_CODE.get(code, ExecutionOutcome.ERROR)
            reason = exc.message
            error = envelope_from_exception(exc, plugin=_known(plugin_name))
            if isinstance(exc, ToolFailed) and exc.remote_traceback:
                error["_internal"]["traceback"] = exc.remote_traceback
        except Exception as exc:  # a bug in Visor itself, never a client's fault
            code = ErrorCode.INTERNAL
            error = build_envelope(
                ErrorCode.INTERNAL, "internal error", plugin=_known(plugin_name), exc=exc
            )
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            self._record(plugin_name, tool_name, outcome, code, reason, elapsed_ms)
            if span is not None:
                _annotate(span, tool_name, outcome, code, reason)
            if call_log.isEnabledFor(logging.INFO):
                _log_call(plugin_name, tool_name, outcome, code, elapsed_ms)
        if error:
            self._log_failure(plugin_name, tool_name, error)
            return {}, error
        return result, {}

    # -- steps ------------------------------------------------------------------------------

    def _traced_steps(
        self, plugin_name: str, record: PluginRecord, spec: ToolSpec, payload: Any
    ) -> Result:
        """The same steps as in ``_run``, each in its own span."""
        if self._input_resolver is not None and isinstance(payload, dict):
            with tracing.span("visor.inputs"):
                payload = self._input_resolver(spec, payload)
        with tracing.span("visor.validate_input"):
            args = self._validated_input(plugin_name, spec, payload)
        with tracing.span("visor.execute"):
            raw = self._execute(record, spec, args)
        with tracing.span("visor.validate_output"):
            return self._validated_output(plugin_name, spec, raw)

    def _resolve(
        self, plugin_name: str, payload: Any, tool: str | None
    ) -> tuple[PluginRecord, ToolSpec]:
        record = self._registry.get(plugin_name) if isinstance(plugin_name, str) else None
        if record is None:
            raise VisorError(
                f"plugin {plugin_name!r} is not installed",
                code=ErrorCode.PLUGIN_NOT_FOUND,
                details={"available": self._registry.available_names()},
            )
        if record.state not in RUNNABLE_STATES:
            if record.state is PluginState.LOADED:
                self._start(record)
            else:
                raise VisorError(
                    f"plugin {plugin_name!r} is unavailable: {record.reason or record.state}",
                    code=ErrorCode.PLUGIN_UNAVAILABLE,
                    details={"state": record.state.value, "reason": record.reason},
                    plugin=plugin_name,
                )
        name = select_tool(tool, payload, record.default_tool)
        if name is None:
            raise VisorError(
                f"plugin {plugin_name!r} has several tools and none is the default; name one",
                code=ErrorCode.TOOL_NOT_FOUND,
                details={"available": sorted(record.tools)},
                plugin=plugin_name,
            )
        spec = record.tools.get(name)
        if spec is None:
            raise VisorError(
                f"plugin {plugin_name!r} has no tool {name!r}",
                code=ErrorCode.TOOL_NOT_FOUND,
                details={"available": sorted(record.tools)},
                plugin=plugin_name,
            )
        return record, spec

    def _start(self, record: PluginRecord) -> None:
        """Start a LOADED plugin on first use (ToolRunner used outside the app)."""
        try:
            self.executor.start_plugin(record)
        except Exception as exc:
            self._registry.transition(record.name, PluginState.FAILED, f"startup failed: {exc}")
            raise VisorError(
                f"plugin {record.name!r} failed to start: {exc}",
                code=ErrorCode.PLUGIN_UNAVAILABLE,
                plugin=record.name,
            ) from exc
        self._registry.transition(
            record.name, PluginState.INITIALIZED, only_from={PluginState.LOADED}
        )

    def _validated_input(self, plugin_name: str, spec: ToolSpec, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise VisorError(
                f"payload must be a JSON object, not {type(payload).__name__}",
                code=ErrorCode.INVALID_INPUT,
                plugin=plugin_name,
            )
        if "tool" in payload and "tool" not in spec.input_schema.get("properties", {}):
            payload = {k: v for k, v in payload.items() if k != "tool"}
        problems = validator_for(spec.input_schema).errors(payload)
        if problems:
            raise VisorError(
                f"invalid input for {plugin_name}.{spec.name}: {summarise(problems)}",
                code=ErrorCode.INVALID_INPUT,
                details={"errors": problems},
                plugin=plugin_name,
            )
        return payload

    def _execute(self, record: PluginRecord, spec: ToolSpec, args: dict[str, Any]) -> Any:
        ctx = current_call_context() or CallContext()
        call = ToolCall(
            plugin=record.name,
            tool=spec,
            payload=args,
            timeout_s=self._timeout_for(record, spec, ctx),
            context=ctx,
        )
        executor = self.executor
        try:
            return executor.execute(record, call)
        except VisorError:
            raise
        except Exception as exc:  # the tool raised (in-process executors let it through)
            raise ToolFailed(
                f"tool {record.name}.{spec.name} raised {type(exc).__name__}: {exc}",
                plugin=record.name,
            ) from exc

    def _timeout_for(self, record: PluginRecord, spec: ToolSpec, ctx: CallContext) -> float | None:
        limit = self._timeouts.get(f"{record.name}.{spec.name}")
        if limit is None:
            limit = spec.timeout_s
        if limit is None:
            limit = self._timeouts.get(record.name)
        if limit is None and record.plugin_cls is not None:
            limit = record.plugin_cls.timeout_s
        if limit is None:
            limit = self._default_timeout_s
        if ctx.timeout_s is not None:
            limit = ctx.timeout_s if limit is None else min(limit, ctx.timeout_s)
        return limit

    def _validated_output(self, plugin_name: str, spec: ToolSpec, raw: Any) -> Result:
        where = f"{plugin_name}.{spec.name}"
        if not isinstance(raw, dict):
            raise VisorError(
                f"tool {where} returned {type(raw).__name__}, expected an object",
                code=ErrorCode.INVALID_OUTPUT,
                details={"returned_type": type(raw).__name__},
                plugin=plugin_name,
            )
        try:
            encoded = orjson.dumps(raw, option=_DUMP_OPTIONS)
        except (TypeError, orjson.JSONEncodeError) as exc:
            raise VisorError(
                f"tool {where} returned a result that is not JSON-serialisable: {exc}",
                code=ErrorCode.INVALID_OUTPUT,
                plugin=plugin_name,
            ) from exc
        limit = self._max_result_bytes
        ctx = current_call_context()
        if ctx is not None and ctx.max_result_bytes is not None:
            limit = min(limit, ctx.max_result_bytes)
        if len(encoded) > limit:
            raise VisorError(
                f"tool {where} returned {len(encoded)} bytes of JSON; the limit is {limit} "
                "bytes (ask the tool for less, if it has options for that)",
                code=ErrorCode.INVALID_OUTPUT,
                details={"limit_bytes": limit, "result_bytes": len(encoded)},
                plugin=plugin_name,
            )
        problems = validator_for(spec.output_schema).errors(raw)
        if problems:
            raise VisorError(
                f"tool {where} broke its output schema: {summarise(problems)}",
                code=ErrorCode.INVALID_OUTPUT,
                details={"errors": problems},
                plugin=plugin_name,
            )
        return raw

    # -- bookkeeping ------------------------------------------------------------------------

    def _record(
        self,
        plugin_name: str,
        tool_name: str | None,
        outcome: ExecutionOutcome,
        code: ErrorCode | None,
        reason: str | None,
        elapsed_ms: float,
    ) -> None:
        try:
            self._registry.record_call(
                plugin_name if isinstance(plugin_name, str) else repr(plugin_name),
                tool_name,
                outcome,
                elapsed_ms,
                code=code.value if code else None,
                reason=reason,
            )
        except Exception:  # metrics must never turn a finished call into a failure
            log.exception("recording metrics for %r failed", plugin_name)

    def _log_failure(self, plugin_name: str, tool_name: str | None, error: Envelope) -> None:
        info = error["error"]
        code = info["details"].get("code")
        quiet = code in _CLIENT_CODES
        level = logging.INFO if quiet else logging.WARNING
        if code == ErrorCode.OVERLOADED.value:
            level = logging.DEBUG  # shedding load must stay cheap: no line per refusal
        if not log.isEnabledFor(level):
            return
        ctx = current_call_context()
        bare = quiet or code in _NO_TRACEBACK_CODES
        traceback = "" if bare else error.get("_internal", {}).get("traceback") or ""
        log.log(
            level,
            "call %s %s.%s failed: %s/%s: %s%s",
            ctx.call_id if ctx else "-",
            plugin_name,
            tool_name or "?",
            info["type"],
            code,
            info["message"],
            ("\n" + traceback.rstrip()) if traceback else "",
        )


def _annotate(
    span: Any,
    tool_name: str | None,
    outcome: ExecutionOutcome,
    code: ErrorCode | None,
    reason: str | None,
) -> None:
    """The call's outcome on its span (an error status for every failure)."""
    span.set_attribute("visor.tool", tool_name or "?")
    span.set_attribute("visor.outcome", outcome.value)
    if code is not None:
        from opentelemetry.trace import StatusCode

        span.set_attribute("visor.error.code", code.value)
        span.set_status(StatusCode.ERROR, reason or code.value)


def _log_call(
    plugin_name: Any,
    tool_name: str | None,
    outcome: ExecutionOutcome,
    code: ErrorCode | None,
    elapsed_ms: float,
) -> None:
    ctx = current_call_context()
    call_log.info(
        "call %s %s.%s %s in %.1f ms",
        ctx.call_id if ctx else "-",
        plugin_name,
        tool_name or "?",
        code.value if code else outcome.value.lower(),
        elapsed_ms,
        extra={
            "call_id": ctx.call_id if ctx else None,
            "plugin": _known(plugin_name),
            "tool": tool_name,
            "outcome": outcome.value,
            "error_code": code.value if code else None,
            "elapsed_ms": round(elapsed_ms, 3),
        },
    )


def _known(plugin_name: Any) -> str | None:
    return plugin_name if isinstance(plugin_name, str) else None
