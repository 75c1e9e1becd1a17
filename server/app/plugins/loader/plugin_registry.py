"""PluginRegistry: which plugins exist, what state they are in and how their calls went.

Lifecycle (``PluginState``) and call outcomes (``ExecutionOutcome``) are different things:
a bad image is an ERROR outcome and leaves the plugin RUNNING; a crash or timeout is a
FAILED outcome and takes the plugin to FAILED until a call succeeds again.

Counting: every call lands in exactly one ``CallKind`` (succeeded, failed, refused input,
cancelled), per plugin and per tool, so the numbers add up wherever they are shown:
``success_count + error_count`` is every call, ``error_count`` is ``failure_count +
invalid_input_count + cancelled_count``, and the tools' calls plus ``no_tool_count`` are the
plugin's calls.

State machine (anything else raises :class:`IllegalTransition`)::

    (loaded)     ──► LOADED ──startup ok──► INITIALIZED ──first success──► RUNNING
    (load error) ──► UNAVAILABLE                │                            │
    LOADED ──startup failed──► FAILED           └────crash/timeout──► FAILED ◄┘
    FAILED ──probe ok──► INITIALIZED        FAILED ──success──► RUNNING
    any state ──unload / dependency lost──► UNAVAILABLE ──reload──► LOADED

All methods are thread-safe; readers get snapshots, never live mutable state.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from app.errors import ErrorCode
from app.plugins.base import Plugin, ToolSpec


class PluginState(StrEnum):
    LOADED = "LOADED"
    INITIALIZED = "INITIALIZED"
    RUNNING = "RUNNING"
    FAILED = "FAILED"
    UNAVAILABLE = "UNAVAILABLE"


class ExecutionOutcome(StrEnum):
    SUCCESS = "SUCCESS"
    ERROR = "ERROR"
    FAILED = "FAILED"
    UNAVAILABLE = "UNAVAILABLE"


ALLOWED_TRANSITIONS: dict[PluginState, frozenset[PluginState]] = {
    PluginState.LOADED: frozenset(
        {PluginState.INITIALIZED, PluginState.FAILED, PluginState.UNAVAILABLE}
    ),
    PluginState.INITIALIZED: frozenset(
        {PluginState.RUNNING, PluginState.FAILED, PluginState.UNAVAILABLE}
    ),
    PluginState.RUNNING: frozenset({PluginState.FAILED, PluginState.UNAVAILABLE}),
    PluginState.FAILED: frozenset(
        {PluginState.INITIALIZED, PluginState.RUNNING, PluginState.UNAVAILABLE}
    ),
    PluginState.UNAVAILABLE: frozenset({PluginState.LOADED}),
}

#: States in which a plugin accepts calls.
RUNNABLE_STATES = frozenset({PluginState.INITIALIZED, PluginState.RUNNING, PluginState.FAILED})


class IllegalTransition(RuntimeError):
    """A lifecycle change the state machine does not allow."""

    def __init__(self, plugin: str, current: PluginState, target: PluginState) -> None:
        super().__init__(f"plugin {plugin!r}: illegal transition {current} -> {target}")
        self.plugin = plugin
        self.current = current
        self.target = target


class CallKind(StrEnum):
    """Whose doing a finished call's outcome was: the one classification every count uses.

    A cancel is the caller's choice and refused input the caller's mistake; neither says
    anything about the plugin's health, so neither is shown (or counted) as a failure.
    """

    SUCCESS = "SUCCESS"
    FAILED = "FAILED"  # the tool or the server failed the call (raised, crashed, overloaded …)
    INVALID_INPUT = "INVALID_INPUT"  # the caller's input was refused
    CANCELLED = "CANCELLED"  # the caller cancelled it


#: ``details.code`` of a call its caller cancelled (app.errors.ErrorCode.CANCELLED).
CANCELLED_CODE = ErrorCode.CANCELLED.value
#: ``details.code`` values that mean the caller's input was refused (the tool never ran).
REFUSED_INPUT_CODES = frozenset({ErrorCode.INVALID_INPUT.value, ErrorCode.TOOL_NOT_FOUND.value})


def classify_call(outcome: ExecutionOutcome, code: str | None) -> CallKind:
    """The kind of a call that ended with ``outcome`` and (for errors) ``details.code``."""
    if outcome is ExecutionOutcome.SUCCESS:
        return CallKind.SUCCESS
    if code == CANCELLED_CODE:
        return CallKind.CANCELLED
    if code in REFUSED_INPUT_CODES:
        return CallKind.INVALID_INPUT
    return CallKind.FAILED


_WINDOW = 1024  # latency samples kept per plugin and per tool for percentiles


class _LatencyWindow:
    """The last N latencies; percentiles are computed on read, recording is O(1)."""

    __slots__ = ("_samples",)

    def __init__(self) -> None:
        self._samples: deque[float] = deque(maxlen=_WINDOW)

    def add(self, value: float) -> None:
        self._samples.append(value)

    def percentile(self, q: float) -> float | None:
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
        return round(ordered[index], 3)


@dataclass
class _ToolStats:
    calls: int = 0
    errors: int = 0
    cancelled: int = 0
    invalid_input: int = 0
    failures: int = 0
    latency: _LatencyWindow = field(default_factory=_LatencyWindow)

    def count(self, kind: CallKind) -> None:
        self.calls += 1
        if kind is CallKind.SUCCESS:
            return
        self.errors += 1
        self.cancelled += int(kind is CallKind.CANCELLED)
        self.invalid_input += int(kind is CallKind.INVALID_INPUT)
        self.failures += int(kind is CallKind.FAILED)


class ToolMetrics(BaseModel):
    calls: int
    errors: int = Field(
        description="Calls that did not succeed: failures + invalid_input + cancelled."
    )
    cancelled: int = Field(default=0, description="Calls their caller cancelled (also in errors).")
    invalid_input: int = Field(
        default=0, description="Calls refused for the caller's input (also in errors)."
    )
    failures: int = Field(
        default=0, description="Calls the tool or the server failed (also in errors)."
    )
    p50_ms: float | None
    p95_ms: float | None


class PluginHealth(BaseModel):
    """A plugin's health and execution metrics: the one shape every door serialises."""

    name: str
    state: PluginState
    description: str = ""
    version: str = ""
    reason: str | None = None
    uptime_seconds: float = 0.0
    last_used: str | None = Field(None, description="ISO-8601 UTC time of the last call.")
    last_execution_state: ExecutionOutcome | None = None
    success_count: int = 0
    error_count: int = Field(
        default=0,
        description="Calls that did not succeed, whoever caused it: "
        "failure_count + invalid_input_count + cancelled_count.",
    )
    failure_count: int = Field(
        default=0,
        description="Calls the plugin or the server failed: the tool raised, broke its output "
        "schema, timed out or crashed, or the plugin was unavailable or saturated.",
    )
    invalid_input_count: int = Field(
        default=0,
        description="Calls refused for the caller's input (details.code invalid_input or "
        "tool_not_found): the caller's mistake, not the plugin's.",
    )
    cancelled_count: int = Field(
        default=0, description="Calls the caller cancelled (also counted in error_count)."
    )
    no_tool_count: int = Field(
        default=0,
        description="Calls that ended before a tool was chosen (an unknown tool name, the "
        "plugin unavailable); every other call is counted under its tool in `tools`.",
    )
    last_execution_time_ms: float | None = None
    avg_execution_time_ms: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    isolation: str = "process"
    #: Kept for the log and the CLI; never sent to clients (it names module paths).
    origin: str | None = Field(None, exclude=True)
    tools: dict[str, ToolMetrics] = Field(default_factory=dict)


@dataclass
class PluginRecord:
    """Mutable bookkeeping for one plugin; only the registry touches it, under its lock."""

    name: str
    state: PluginState
    plugin_cls: type[Plugin] | None = None
    instance: Plugin | None = None
    origin: str | None = None
    description: str = ""
    version: str = ""
    reason: str | None = None
    isolation: str = "process"
    tools: dict[str, ToolSpec] = field(default_factory=dict)
    default_tool: str | None = None
    loaded_at: float = field(default_factory=time.monotonic)
    last_used: datetime | None = None
    last_execution_state: ExecutionOutcome | None = None
    success_count: int = 0
    error_count: int = 0
    cancelled_count: int = 0
    invalid_input_count: int = 0
    failure_count: int = 0
    no_tool_count: int = 0
    last_execution_time_ms: float | None = None
    avg_execution_time_ms: float | None = None
    total_execution_time_ms: float = 0.0
    latency: _LatencyWindow = field(default_factory=_LatencyWindow)
    tool_stats: dict[str, _ToolStats] = field(default_factory=dict)


@dataclass(frozen=True)
class CallRecord:
    """One finished call, as observers (Prometheus, logs) see it."""

    plugin: str
    tool: str | None
    outcome: ExecutionOutcome
    code: str | None
    elapsed_ms: float
    known_plugin: bool
    kind: CallKind


CallObserver = Callable[[CallRecord], None]


class PluginRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, PluginRecord] = {}
        self._observers: list[CallObserver] = []

    # -- membership -------------------------------------------------------------------------

    def add(self, record: PluginRecord) -> None:
        """Add (or replace, on reload) a plugin record."""
        with self._lock:
            self._records[record.name] = record

    def set_version(self, name: str, version: str) -> None:
        """A plugin now serves another version (a model's new default): health shows it."""
        with self._lock:
            record = self._records.get(name)
            if record is not None:
                record.version = version

    def remove(self, name: str) -> PluginRecord | None:
        with self._lock:
            return self._records.pop(name, None)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def get(self, name: str) -> PluginRecord | None:
        """The live record; callers outside the runtime should prefer :meth:`health`."""
        with self._lock:
            return self._records.get(name)

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._records)

    def available_names(self) -> list[str]:
        """Names worth offering a caller: every plugin except the UNAVAILABLE ones."""
        with self._lock:
            return sorted(
                n for n, r in self._records.items() if r.state is not PluginState.UNAVAILABLE
            )

    def records(self) -> list[PluginRecord]:
        with self._lock:
            return [self._records[n] for n in sorted(self._records)]

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._records

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    # -- lifecycle --------------------------------------------------------------------------

    def transition(
        self,
        name: str,
        target: PluginState,
        reason: str | None = None,
        *,
        only_from: set[PluginState] | frozenset[PluginState] | None = None,
    ) -> bool:
        """Move a plugin to ``target``; raises :class:`IllegalTransition` if not allowed.

        With ``only_from``, a plugin in any other state is left alone (returns False):
        the compare-and-set that concurrent starters and probes need.
        """
        with self._lock:
            record = self._records[name]
            if only_from is not None and record.state not in only_from:
                return False
            self._transition_locked(record, target, reason)
            return True

    def _transition_locked(
        self, record: PluginRecord, target: PluginState, reason: str | None
    ) -> None:
        if target == record.state:
            record.reason = (
                reason if target in (PluginState.FAILED, PluginState.UNAVAILABLE) else None
            )
            return
        if target not in ALLOWED_TRANSITIONS[record.state]:
            raise IllegalTransition(record.name, record.state, target)
        record.state = target
        record.reason = reason if target in (PluginState.FAILED, PluginState.UNAVAILABLE) else None
        if target in (PluginState.LOADED, PluginState.INITIALIZED) and record.success_count == 0:
            record.loaded_at = time.monotonic()

    def state(self, name: str) -> PluginState | None:
        with self._lock:
            record = self._records.get(name)
            return record.state if record else None

    # -- metrics ----------------------------------------------------------------------------

    def subscribe(self, observer: CallObserver) -> Callable[[], None]:
        """Call ``observer`` after every recorded call; returns an unsubscribe function."""
        with self._lock:
            self._observers.append(observer)

        def unsubscribe() -> None:
            with self._lock:
                if observer in self._observers:
                    self._observers.remove(observer)

        return unsubscribe

    def update_execution_metrics(
        self,
        plugin_name: str,
        state: str,
        elapsed_ms: float,
        had_error: bool,
        *,
        tool: str | None = None,
        reason: str | None = None,
        cancelled: bool = False,
        code: str | None = None,
    ) -> bool:
        """Record one execution outcome (SUCCESS, ERROR, FAILED or UNAVAILABLE).

        ``code`` (the error's ``details.code``) says whose doing an error was, so a cancel
        or refused input is counted apart from a failure (:func:`classify_call`);
        ``cancelled=True`` is the older spelling of ``code="cancelled"``.

        Updates counters, the running mean, percentiles, ``last_used``,
        ``last_execution_state`` and the lifecycle. Returns False for an unknown plugin
        (nothing to record against) instead of raising: callers are on the hot path.
        """
        outcome = ExecutionOutcome(state)
        with self._lock:
            record = self._records.get(plugin_name)
            if record is None:
                return False
            errored = had_error or outcome is not ExecutionOutcome.SUCCESS
            if cancelled and code is None:
                code = CANCELLED_CODE
            kind = classify_call(
                ExecutionOutcome.ERROR
                if errored and outcome is ExecutionOutcome.SUCCESS
                else outcome,
                code,
            )
            if errored:
                record.error_count += 1
                record.cancelled_count += int(kind is CallKind.CANCELLED)
                record.invalid_input_count += int(kind is CallKind.INVALID_INPUT)
                record.failure_count += int(kind is CallKind.FAILED)
            else:
                record.success_count += 1
            record.total_execution_time_ms += elapsed_ms
            n = record.success_count + record.error_count
            record.avg_execution_time_ms = record.total_execution_time_ms / n
            record.last_execution_time_ms = elapsed_ms
            record.latency.add(elapsed_ms)
            record.last_used = datetime.now(UTC)
            record.last_execution_state = outcome
            if tool is not None and tool in record.tools:
                stats = record.tool_stats.get(tool)
                if stats is None:
                    stats = record.tool_stats[tool] = _ToolStats()
                stats.count(kind)
                stats.latency.add(elapsed_ms)
            else:
                record.no_tool_count += 1
            self._apply_outcome_locked(record, outcome, reason)
        return True

    def _apply_outcome_locked(
        self, record: PluginRecord, outcome: ExecutionOutcome, reason: str | None
    ) -> None:
        if outcome is ExecutionOutcome.SUCCESS and record.state in (
            PluginState.INITIALIZED,
            PluginState.FAILED,
        ):
            self._transition_locked(record, PluginState.RUNNING, None)
        elif outcome is ExecutionOutcome.FAILED and record.state in (
            PluginState.INITIALIZED,
            PluginState.RUNNING,
            PluginState.FAILED,
        ):
            self._transition_locked(record, PluginState.FAILED, reason or "last call failed")

    def record_call(
        self,
        plugin_name: str,
        tool: str | None,
        outcome: ExecutionOutcome,
        elapsed_ms: float,
        *,
        code: str | None = None,
        reason: str | None = None,
    ) -> None:
        """ToolRunner's single metrics entry point: registry counters, then observers."""
        known = self.update_execution_metrics(
            plugin_name,
            outcome.value,
            elapsed_ms,
            outcome is not ExecutionOutcome.SUCCESS,
            tool=tool,
            reason=reason,
            code=code,
        )
        observers = self._observers  # (un)subscribe mutate it under the lock: iterate a copy
        if observers:
            kind = classify_call(outcome, code)
            call = CallRecord(plugin_name, tool, outcome, code, elapsed_ms, known, kind)
            for observer in list(observers):
                observer(call)

    # -- read models ------------------------------------------------------------------------

    def health(self, name: str) -> PluginHealth | None:
        with self._lock:
            record = self._records.get(name)
            return _health_of(record) if record else None

    def health_all(self) -> list[PluginHealth]:
        with self._lock:
            return [_health_of(self._records[n]) for n in sorted(self._records)]

    def counts_by_state(self) -> dict[PluginState, int]:
        with self._lock:
            counts = dict.fromkeys(PluginState, 0)
            for record in self._records.values():
                counts[record.state] += 1
            return counts

    def replace_all(self, records: Iterable[PluginRecord]) -> None:
        """Swap in a freshly loaded set of plugins atomically (used by reload)."""
        fresh = {r.name: r for r in records}
        with self._lock:
            self._records = fresh


def _health_of(record: PluginRecord) -> PluginHealth:
    uptime = 0.0
    if record.state is not PluginState.UNAVAILABLE:
        uptime = round(time.monotonic() - record.loaded_at, 3)
    return PluginHealth(
        name=record.name,
        state=record.state,
        description=record.description,
        version=record.version,
        reason=record.reason,
        uptime_seconds=uptime,
        last_used=record.last_used.isoformat().replace("+00:00", "Z") if record.last_used else None,
        last_execution_state=record.last_execution_state,
        success_count=record.success_count,
        error_count=record.error_count,
        failure_count=record.failure_count,
        invalid_input_count=record.invalid_input_count,
        cancelled_count=record.cancelled_count,
        no_tool_count=record.no_tool_count,
        last_execution_time_ms=_round(record.last_execution_time_ms),
        avg_execution_time_ms=_round(record.avg_execution_time_ms),
        p50_ms=record.latency.percentile(0.50),
        p95_ms=record.latency.percentile(0.95),
        isolation=record.isolation,
        origin=record.origin,
        tools={name: _tool_metrics(record.tool_stats.get(name)) for name in record.tools},
    )


def _tool_metrics(stats: _ToolStats | None) -> ToolMetrics:
    if stats is None:  # declared but never called
        return ToolMetrics(calls=0, errors=0, p50_ms=None, p95_ms=None)
    return ToolMetrics(
        calls=stats.calls,
        errors=stats.errors,
        cancelled=stats.cancelled,
        invalid_input=stats.invalid_input,
        failures=stats.failures,
        p50_ms=stats.latency.percentile(0.5),
        p95_ms=stats.latency.percentile(0.95),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


_default_registry: PluginRegistry | None = None
_default_lock = threading.Lock()


def get_registry() -> PluginRegistry:
    """The process-wide registry (the same object on every call)."""
    global _default_registry
    if _default_registry is None:
        with _default_lock:
            if _default_registry is None:
                _default_registry = PluginRegistry()
    return _default_registry
