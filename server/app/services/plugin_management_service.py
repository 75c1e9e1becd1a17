"""PluginManagementService: the only layer that talks to ToolRunner.

It owns the runner, the plugin lifecycle (load, start, reload, stop) and the read models
(list, manifest, health). Services above it — analysis, jobs, MCP, the CLI — call
:meth:`run` and trust its ``(result, error)``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from app.auth import guard
from app.body_budget import BodyBudget
from app.errors import ErrorCode, VisorError
from app.inputs.resolver import FileReader, InputResolver
from app.plugins.base import PluginUnavailable
from app.plugins.loader import plugin_loader, refresh
from app.plugins.loader.plugin_registry import (
    PluginHealth,
    PluginRecord,
    PluginRegistry,
    PluginState,
)
from app.plugins.runtime.executor import Executor
from app.plugins.runtime.tool_runner import ToolRunner, select_tool
from app.settings import Settings

log = logging.getLogger("visor.plugins")


class PluginManagementService:
    def __init__(
        self,
        registry: PluginRegistry,
        executor: Executor,
        *,
        default_timeout_s: float | None = 60.0,
        timeout_overrides: dict[str, float] | None = None,
        max_result_bytes: int = 32 * 1024 * 1024,
        allowlist: Sequence[str] | None = None,
        load_timeout_s: float = 30.0,
        force_in_process: bool = False,
        in_process: Sequence[str] = (),
        sources: Sequence[plugin_loader.PluginSource] | None = None,
        inputs: InputResolver | None = None,
    ) -> None:
        self._registry = registry
        self._inputs = inputs or InputResolver()
        self._executor = executor
        self._runner = ToolRunner(
            registry=registry,
            executor=executor,
            default_timeout_s=default_timeout_s,
            timeout_overrides=timeout_overrides,
            max_result_bytes=max_result_bytes,
            input_resolver=self._inputs.resolve,
        )
        self._allowlist = list(allowlist) if allowlist is not None else None
        self._load_timeout_s = load_timeout_s
        self._force_in_process = force_in_process
        self._in_process = frozenset(in_process)
        self._sources = list(sources) if sources is not None else None
        self._source_providers: list[Callable[[], Sequence[plugin_loader.PluginSource]]] = []
        self._reload_lock = threading.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        registry: PluginRegistry,
        executor: Executor,
        *,
        sources: Sequence[plugin_loader.PluginSource] | None = None,
        files: FileReader | None = None,
        budget: BodyBudget | None = None,
    ) -> PluginManagementService:
        """The service as the app and the CLI's in-process mode both build it (the CLI
        has no uploaded files: ``files`` is the app's file store)."""
        return cls(
            registry,
            executor,
            default_timeout_s=settings.default_timeout_s,
            timeout_overrides=settings.tool_timeouts,
            max_result_bytes=settings.max_result_bytes,
            allowlist=settings.plugins_allowlist,
            load_timeout_s=settings.plugin_load_timeout_s,
            force_in_process=settings.force_in_process,
            in_process=[n for n, mode in settings.plugin_isolation.items() if mode == "in_process"],
            sources=sources,
            inputs=InputResolver.from_settings(settings, files, budget),
        )

    @property
    def registry(self) -> PluginRegistry:
        return self._registry

    @property
    def executor(self) -> Executor:
        return self._executor

    @property
    def inputs(self) -> InputResolver:
        """The input resolver every call goes through (jobs use it at submit)."""
        return self._inputs

    # -- execution --------------------------------------------------------------------------

    def run(
        self, plugin_name: str, payload: dict[str, Any], tool: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        with guard.tool_call() as refused:  # the caller's scope and concurrency quota
            if refused:
                return {}, refused
            return self._runner.run(plugin_name, payload, tool)

    def selected_tool(self, plugin_name: str, tool: str | None, payload: Any = None) -> str | None:
        """The tool ToolRunner will pick for this call (for responses that name it)."""
        record = self._registry.get(plugin_name)
        return select_tool(tool, payload, record.default_tool if record else None)

    # -- lifecycle --------------------------------------------------------------------------

    def load(self, *, start: bool = True) -> list[PluginRecord]:
        """Discover, load and start plugins (startup and reload).

        With ``start=False`` plugins stay LOADED (imported and validated, no worker):
        ToolRunner starts one on its first call, so a command that lists plugins or runs
        one tool pays only for what it uses.
        """
        with self._reload_lock:
            if len(self._registry):
                # Said, not silent: the counters in GET /v1/plugins start again (the
                # Prometheus counters are cumulative and keep counting).
                log.info("reloading plugins: their call counts and latencies restart at zero")
            for name in self._registry.names():
                self._executor.stop_plugin(name)
            if self._sources is None and len(self._registry):  # a reload: see new installs
                refresh.see_new_installs()
                refresh.forget_modules(
                    s.origin
                    for s in plugin_loader.discover()
                    if s.distribution != plugin_loader.BUILTIN_DISTRIBUTION
                )
            records = plugin_loader.load_plugins(
                plugin_loader.discover() if self._sources is None else self._sources,
                allowlist=self._allowlist,
                **self._load_options(),
            )
            records += self._provided_records({r.name for r in records})
            self._registry.replace_all(records)
            if start:
                self._start_all([r for r in records if r.state is PluginState.LOADED])
            return records

    def add_sources(self, provider: Callable[[], Sequence[plugin_loader.PluginSource]]) -> None:
        """Another source of plugins, asked on every load (the model repository).

        Its plugins are the operator's own registrations, so the allowlist (which limits
        installed packages) does not apply; a name an installed plugin has is refused.
        """
        self._source_providers.append(provider)

    def _load_options(self) -> dict[str, Any]:
        return {
            "timeout_s": self._load_timeout_s,
            "force_in_process": self._force_in_process,
            "in_process": self._in_process,
        }

    def _provided_records(self, taken: set[str]) -> list[PluginRecord]:
        sources = [source for provider in self._source_providers for source in provider()]
        records = plugin_loader.load_plugins(sources, **self._load_options())
        return [
            plugin_loader.unavailable_record(
                f"{r.name}@models", r.origin, f"the name {r.name!r} is an installed plugin's"
            )
            if r.name in taken
            else r
            for r in records
        ]

    def add_plugin(self, source: plugin_loader.PluginSource) -> PluginRecord:
        """Load and start one plugin while the server runs (a newly registered model)."""
        with self._reload_lock:
            self._executor.stop_plugin(source.key)
            (record,) = plugin_loader.load_plugins([source], **self._load_options())
            self._registry.add(record)
            if record.state is PluginState.LOADED:
                self._start_one(record)
            return record

    def remove_plugin(self, name: str) -> None:
        """Stop one plugin's workers (in-flight calls finish first) and forget it."""
        with self._reload_lock:
            self._registry.remove(name)
            self._executor.stop_plugin(name)

    def start(self, name: str) -> None:
        """Start one LOADED plugin (after ``load(start=False)``); others are left alone."""
        record = self._registry.get(name)
        if record is not None and record.state is PluginState.LOADED:
            with self._reload_lock:
                self._start_one(record)

    def _start_all(self, records: list[PluginRecord]) -> None:
        threads = [
            threading.Thread(target=self._start_one, args=(r,), daemon=True) for r in records
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(self._load_timeout_s + 5.0)

    def _start_one(self, record: PluginRecord) -> None:
        """Start one plugin; its own "not available" is UNAVAILABLE, anything else FAILED.

        FAILED plugins are retried on the next call (startup may have hit a passing
        problem); UNAVAILABLE ones wait for a reload.
        """
        try:
            self._executor.start_plugin(record)
        except PluginUnavailable as exc:
            self._registry.transition(record.name, PluginState.UNAVAILABLE, exc.message)
        except Exception as exc:  # startup hook is plugin code: isolate it
            message = exc.message if isinstance(exc, VisorError) else f"{type(exc).__name__}: {exc}"
            log.warning("plugin %s failed to start: %s", record.name, message)
            self._registry.transition(record.name, PluginState.FAILED, message)
        else:
            self._registry.transition(
                record.name, PluginState.INITIALIZED, only_from={PluginState.LOADED}
            )

    def shutdown(self, timeout_s: float = 10.0) -> None:
        self._executor.shutdown(timeout_s)

    # -- read models ------------------------------------------------------------------------

    def list_plugins(self) -> list[PluginHealth]:
        return self._registry.health_all()

    def health(self, name: str) -> PluginHealth:
        health = self._registry.health(name)
        if health is None:
            raise VisorError(f"plugin {name!r} is not installed", code=ErrorCode.PLUGIN_NOT_FOUND)
        return health

    def manifest(self, name: str) -> dict[str, Any]:
        record = self._registry.get(name)
        if record is None:
            raise VisorError(f"plugin {name!r} is not installed", code=ErrorCode.PLUGIN_NOT_FOUND)
        health = self.health(name)
        return {
            "name": record.name,
            "version": record.version,
            "description": record.description,
            "state": health.state,
            "reason": health.reason,
            "isolation": record.isolation,
            "default_tool": record.default_tool,
            # One truth: ``default`` is whether ToolRunner picks this tool when none is named
            # (a plugin's only tool is its default without saying so).
            "tools": [
                {
                    **spec.manifest(),
                    "default": spec.name == record.default_tool,
                    "arguments_schema": self._inputs.call_schema(spec),
                }
                for spec in record.tools.values()
            ],
        }
