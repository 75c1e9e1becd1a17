"""Plugin discovery through the ``visor.plugins`` entry-point group, one plugin at a time.

Each entry point is imported, resolved to a :class:`~app.plugins.base.Plugin` subclass,
validated and (for in-process plugins) constructed in its own daemon thread with a
deadline; process-isolated plugins are constructed in their workers. Whatever goes wrong —
an import error, a constructor that raises or never returns, a class that breaks the
contract, a duplicate name — makes that one plugin UNAVAILABLE with a reason; the server
starts with the rest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from app.plugins.base import Plugin, PluginUnavailable
from app.plugins.loader.plugin_registry import PluginRecord, PluginRegistry, PluginState
from app.plugins.runtime.deadline import call_with_deadline

log = logging.getLogger("visor.loader")

ENTRY_POINT_GROUP = "visor.plugins"
#: Plugins that load only when ``VISOR_PLUGINS_ALLOWLIST`` names them: a package lists a
#: ``visor.plugins`` entry point here too (same name) to stay out of servers that did not
#: ask for it — Visor's own test plugins do, so a development environment's server does
#: not serve them.
OPT_IN_GROUP = "visor.plugins.opt_in"
BUILTIN_DISTRIBUTION = "visor-server"
#: Times an import that Python's import lock reports as a deadlock is retried (two
#: plugins importing each other's modules from concurrent loader threads).
_IMPORT_DEADLOCK_RETRIES = 5
_IMPORT_DEADLOCK_PAUSE_S = 0.05  # doubled each retry: 1.55 s in all


@dataclass(frozen=True)
class PluginSource:
    """Where a plugin comes from: an entry point, or a class handed over directly."""

    key: str
    origin: str
    distribution: str | None
    load: Callable[[], Any]
    opt_in: bool = False  # loads only when the allowlist names it (:data:`OPT_IN_GROUP`)


def discover(group: str = ENTRY_POINT_GROUP) -> list[PluginSource]:
    """Installed plugin entry points, built-ins first, then by distribution and name."""
    found: list[PluginSource] = []
    opt_in = {ep.name for ep in entry_points(group=OPT_IN_GROUP)}
    for ep in entry_points(group=group):
        dist = ep.dist.name if ep.dist is not None else None
        found.append(PluginSource(ep.name, f"{ep.value}", dist, _loader_for(ep), ep.name in opt_in))
    found.sort(key=lambda s: (s.distribution != BUILTIN_DISTRIBUTION, s.distribution or "", s.key))
    return found


def _loader_for(ep: EntryPoint) -> Callable[[], Any]:
    return ep.load


def source_for_class(plugin_cls: type[Plugin]) -> PluginSource:
    origin = f"{plugin_cls.__module__}:{plugin_cls.__qualname__}"
    return PluginSource(plugin_cls.name or plugin_cls.__name__, origin, None, lambda: plugin_cls)


def resolve_plugin(obj: Any) -> tuple[type[Plugin], Plugin | None]:
    """Accept a Plugin subclass, a Plugin instance or a zero-argument factory of either."""
    if isinstance(obj, type) and issubclass(obj, Plugin):
        return obj, None
    if isinstance(obj, Plugin):
        return type(obj), obj
    if callable(obj) and not isinstance(obj, type):
        return resolve_plugin(obj())
    raise TypeError(f"{obj!r} is not a visor Plugin subclass, instance or factory")


def build_record(
    source: PluginSource, *, force_in_process: bool = False, in_process: Collection[str] = ()
) -> PluginRecord:
    """Import, resolve, validate and construct one plugin. Raises on any problem.

    Only the operator puts a plugin in the server process (``force_in_process``, or its
    name in ``in_process``); a plugin cannot opt itself out of isolation.
    """
    plugin_cls, instance = resolve_plugin(source.load())
    plugin_cls.validate_class()
    plugin_cls.check_requirements()  # a missing optional extra: UNAVAILABLE, no worker started
    runs_here = force_in_process or plugin_cls.name in in_process
    isolation = "in_process" if runs_here else "process"
    if instance is None and isolation == "in_process":
        # Only plugins that will run here are built here: an isolated plugin's constructor
        # runs in its worker, where a crash or a hang costs the worker, not the server.
        instance = plugin_cls()
    specs = plugin_cls.tool_specs()
    return PluginRecord(
        name=plugin_cls.name,
        state=PluginState.LOADED,
        plugin_cls=plugin_cls,
        instance=instance,
        origin=source.origin,
        description=plugin_cls.description,
        version=plugin_cls.version,
        isolation=isolation,
        tools=specs,
        default_tool=plugin_cls.default_tool_name(),
    )


def unavailable_record(key: str, origin: str | None, reason: str) -> PluginRecord:
    return PluginRecord(name=key, state=PluginState.UNAVAILABLE, origin=origin, reason=reason)


def _build_with_deadline(
    source: PluginSource, timeout_s: float, force_in_process: bool, in_process: Collection[str]
) -> tuple[PluginRecord, bool]:
    """The plugin's record, and whether its being UNAVAILABLE was expected (it said so
    itself: an optional extra that is not installed)."""

    def build() -> PluginRecord:
        for attempt in range(_IMPORT_DEADLOCK_RETRIES + 1):
            try:
                return build_record(
                    source, force_in_process=force_in_process, in_process=in_process
                )
            except RuntimeError as exc:
                # importlib's _DeadlockError: another loader thread holds a module this
                # import needs, and waits for one this thread holds; it finishes, we retry.
                if type(exc).__name__ != "_DeadlockError" or attempt == _IMPORT_DEADLOCK_RETRIES:
                    raise
                time.sleep(_IMPORT_DEADLOCK_PAUSE_S * 2**attempt)  # let the other import end
        raise AssertionError("unreachable")

    try:
        record = call_with_deadline(
            build,
            timeout_s,
            name=f"visor-load-{source.key}",
        )
    except TimeoutError:
        reason = f"loading took longer than {timeout_s:g}s (import or constructor hangs)"
        return unavailable_record(source.key, source.origin, reason), False
    except PluginUnavailable as exc:  # the plugin's own words, e.g. the extra to install
        return unavailable_record(source.key, source.origin, exc.message), True
    except BaseException as exc:
        reason = f"{type(exc).__name__}: {exc}"
        return unavailable_record(source.key, source.origin, reason), False
    return record, False


def load_plugins(
    sources: Iterable[PluginSource],
    *,
    allowlist: Sequence[str] | None = None,
    timeout_s: float = 30.0,
    force_in_process: bool = False,
    in_process: Collection[str] = (),
) -> list[PluginRecord]:
    """Build records for every allowed source, concurrently, each within ``timeout_s``."""
    allowed = [
        s for s in sources if (s.key in allowlist if allowlist is not None else not s.opt_in)
    ]
    results: list[tuple[PluginRecord, bool] | None] = [None] * len(allowed)

    def work(index: int, source: PluginSource) -> None:
        results[index] = _build_with_deadline(source, timeout_s, force_in_process, in_process)

    threads = [
        threading.Thread(target=work, args=(i, s), daemon=True) for i, s in enumerate(allowed)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout_s + 5.0)

    records: list[PluginRecord] = []
    taken: dict[str, PluginRecord] = {}
    for source, maybe in zip(allowed, results, strict=True):
        record, expected = maybe or (
            unavailable_record(source.key, source.origin, "loader did not finish"),
            False,
        )
        previous = taken.get(record.name)
        if previous is not None:
            key = f"{source.key}@{source.distribution or source.origin}"
            record = unavailable_record(
                key,
                source.origin,
                f"duplicate plugin name {record.name!r}: already provided by {previous.origin}",
            )
        taken[record.name] = record if previous is None else previous
        if record.state is PluginState.UNAVAILABLE:
            # An optional plugin without its extra is expected: logged at INFO, so
            # in-process commands (no log setup: WARNING reaches stderr) do not repeat it;
            # `visor plugins` and `visor doctor` show the reason.
            level = logging.INFO if expected and previous is None else logging.WARNING
            log.log(level, "plugin %s is unavailable: %s", record.name, record.reason)
        records.append(record)
    return records


def load_into(
    registry: PluginRegistry,
    sources: Iterable[PluginSource] | None = None,
    *,
    allowlist: Sequence[str] | None = None,
    timeout_s: float = 30.0,
    force_in_process: bool = False,
    in_process: Collection[str] = (),
) -> list[PluginRecord]:
    """Discover (unless ``sources`` is given) and replace the registry's contents."""
    records = load_plugins(
        discover() if sources is None else sources,
        allowlist=allowlist,
        timeout_s=timeout_s,
        force_in_process=force_in_process,
        in_process=in_process,
    )
    registry.replace_all(records)
    return records
