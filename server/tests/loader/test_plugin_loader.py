"""Loader: real entry-point discovery, allowlist, duplicates and per-plugin isolation."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from helpers import builtin_sources, plugin_sources

from app.plugins.base import Plugin, tool
from app.plugins.loader.plugin_loader import (
    ENTRY_POINT_GROUP,
    PluginSource,
    discover,
    load_plugins,
    source_for_class,
)
from app.plugins.loader.plugin_registry import PluginState


def _by_name(records):  # type: ignore[no-untyped-def]
    return {r.name: r for r in records}


def test_discovers_installed_distributions_through_the_entry_point_group() -> None:
    sources = {s.key: s for s in discover(ENTRY_POINT_GROUP)}
    assert "image_info" in sources  # built-in, registered like any plugin
    assert sources["image_info"].distribution == "visor-server"
    assert "visor_test_echo" in sources  # the installed test distribution
    assert sources["visor_test_echo"].distribution == "visor-test-plugins"
    assert sources["visor_test_echo"].origin == "visor_test_plugins.echo:EchoPlugin"
    keys = list(sources)
    assert keys.index("image_info") < keys.index("visor_test_echo")  # built-ins first


def test_allowlist_limits_what_loads_without_importing_the_rest() -> None:
    records = load_plugins(discover(), allowlist=["visor_test_echo"])
    assert [r.name for r in records] == ["echo"]
    assert records[0].state is PluginState.LOADED
    assert records[0].default_tool == "echo"
    assert set(records[0].tools) == {"echo", "noop", "sleep", "aecho"}


def test_each_broken_plugin_is_unavailable_with_a_reason_and_others_load() -> None:
    started = time.monotonic()
    records = _by_name(
        load_plugins(
            plugin_sources(
                "echo", "import_fails", "no_tools", "not_a_plugin", "slow_constructor", "raises"
            ),
            timeout_s=1.0,
            in_process={"slow_constructor"},  # built here, so its constructor hangs the load
        )
    )
    assert time.monotonic() - started < 30  # a hung constructor does not hang the loader
    assert records["echo"].state is PluginState.LOADED
    assert records["raises"].state is PluginState.LOADED  # raising at call time is not a load error

    broken = {
        "import_fails": "visor_dependency_that_does_not_exist",
        "no_tools": "declares no tools",
        "not_a_plugin": "not a visor Plugin",
        "slow_constructor": "longer than 1s",
    }
    for key, fragment in broken.items():
        record = records[key]
        assert record.state is PluginState.UNAVAILABLE, key
        assert record.reason and fragment in record.reason, (key, record.reason)
        assert record.origin


def test_duplicate_names_keep_the_first_and_report_the_second() -> None:
    records = load_plugins(plugin_sources("echo", "duplicate_echo"))
    names = _by_name(records)
    assert names["echo"].version == "1.0.0"
    duplicates = [r for r in records if r.state is PluginState.UNAVAILABLE]
    assert len(duplicates) == 1
    assert "duplicate plugin name 'echo'" in (duplicates[0].reason or "")
    assert "visor_test_plugins.echo:EchoPlugin" in (duplicates[0].reason or "")


class _BadName(Plugin):
    name = "bad name!"
    version = "1"

    @tool
    def t(self) -> dict:
        return {}


class _TwoDefaults(Plugin):
    name = "two_defaults"
    version = "1"

    @tool(default=True)
    def a(self) -> dict:
        return {}

    @tool(default=True)
    def b(self) -> dict:
        return {}


class _ListSchema(Plugin):
    name = "list_schema"
    version = "1"

    @tool(input_schema={"type": "array"})
    def t(self, args: list) -> dict:  # type: ignore[type-arg]
        return {}


def test_contract_violations_are_reported() -> None:
    records = _by_name(
        load_plugins([source_for_class(c) for c in (_BadName, _TwoDefaults, _ListSchema)])
    )
    assert "may only use letters" in (records["bad name!"].reason or "")
    assert "more than one default" in (records["two_defaults"].reason or "")
    assert "JSON object schema" in (records["list_schema"].reason or "")
    assert all(r.state is PluginState.UNAVAILABLE for r in records.values())


def test_opt_in_plugins_load_only_when_the_allowlist_names_them() -> None:
    """Visor's test plugins stay out of a development environment's server (issue 29)."""
    sources = {s.key: s for s in discover()}
    assert sources["visor_test_echo"].opt_in and not sources["image_info"].opt_in
    everything = load_plugins([sources["visor_test_echo"], sources["image_info"]])
    assert [r.name for r in everything] == ["image_info"]
    named = load_plugins([sources["visor_test_echo"]], allowlist=["visor_test_echo"])
    assert [r.name for r in named] == ["echo"]


def test_an_import_deadlock_between_loader_threads_is_retried() -> None:
    """Two plugins importing each other's modules from concurrent loader threads make
    Python's import lock raise _DeadlockError in one of them: it is retried, not fatal."""
    from importlib._bootstrap import _DeadlockError  # type: ignore[attr-defined]

    from visor_test_plugins.echo import EchoPlugin

    attempts: list[int] = []

    def load() -> type[Plugin]:
        attempts.append(1)
        if len(attempts) == 1:
            raise _DeadlockError("deadlock detected by _ModuleLock('x')")
        return EchoPlugin

    source = PluginSource("echo", "visor_test_plugins.echo:EchoPlugin", None, load)
    [record] = load_plugins([source])
    assert record.state is PluginState.LOADED, record.reason
    assert len(attempts) == 2


def test_an_optional_plugin_without_its_extra_is_not_a_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process CLI commands print WARNING records (no log setup): an optional plugin
    whose extra is not installed is expected, so it is INFO; a broken one stays WARNING."""
    from app.plugins.builtin.rapid_ocr import bundle

    monkeypatch.setattr(bundle, "REQUIRED_MODULES", ("rapidocr", "visor_no_such_module"))
    caplog.set_level(logging.INFO, logger="visor.loader")
    sources = [*builtin_sources("ocr-rapid"), *plugin_sources("import_fails")]
    records = load_plugins(sources)
    assert all(r.state is PluginState.UNAVAILABLE for r in records)
    levels = {r.getMessage().split()[1]: r.levelno for r in caplog.records}
    assert levels["ocr-rapid"] == logging.INFO
    assert levels["import_fails"] == logging.WARNING


def test_ready_line_counts_only_the_plugins_that_serve(
    make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    visor = logging.getLogger("visor")  # it does not propagate once the app set it up
    visor.addHandler(caplog.handler)
    try:
        client = make_client(plugin_sources("echo", "import_fails"))
        assert client.post("/v1/plugins/reload").status_code == 200
    finally:
        visor.removeHandler(caplog.handler)
    messages = [r.getMessage() for r in caplog.records]
    ready = [m for m in messages if m.startswith("visor ready")]
    assert ready == ["visor ready: 1 plugins, 1 unavailable (import_fails)"]
    # A reload says that the per-plugin numbers start again (issue 29).
    assert "reloading plugins: their call counts and latencies restart at zero" in messages
