"""Reload sees plugin distributions installed or changed after the process started.

The distribution is laid out the way pip installs one (a module plus a ``.dist-info`` with
``entry_points.txt``) in a directory on ``sys.path``, so discovery goes through the real
importlib.metadata and import system, caches included.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.plugins.loader.plugin_registry import PluginRegistry, PluginState
from app.plugins.runtime.in_process import InProcessExecutor
from app.services.plugin_management_service import PluginManagementService

MODULE = "visor_fresh_plugin"


def install(site: Path, version: str, tools: list[str]) -> None:
    """Write (or overwrite) the distribution as pip would leave it."""
    methods = "".join(
        f"""
    @tool
    def {name}(self) -> dict:
        return {{"tool": "{name}", "version": "{version}"}}
"""
        for name in tools
    )
    (site / f"{MODULE}.py").write_text(
        textwrap.dedent(
            f"""
            from app.plugins.base import Plugin, tool


            class FreshPlugin(Plugin):
                name = "fresh"
                version = "{version}"
                description = "Installed after the server started."
            """
        )
        + methods
    )
    for old in site.glob("visor_fresh_plugin-*.dist-info"):
        for file in old.iterdir():
            file.unlink()
        old.rmdir()
    info = site / f"visor_fresh_plugin-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: visor-fresh-plugin\nVersion: {version}\n"
    )
    (info / "entry_points.txt").write_text(f"[visor.plugins]\nfresh = {MODULE}:FreshPlugin\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    directory = tmp_path / "site"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    yield directory
    sys.modules.pop(MODULE, None)


@pytest.fixture
def service() -> Iterator[PluginManagementService]:
    plugins = PluginManagementService(
        PluginRegistry(),
        InProcessExecutor(),
        allowlist=["image_info", "fresh"],
        force_in_process=True,
    )
    yield plugins
    plugins.shutdown(5.0)


def test_reload_finds_a_plugin_installed_after_start(
    site: Path, service: PluginManagementService
) -> None:
    service.load()
    assert service.registry.get("fresh") is None

    install(site, "1.0.0", ["first"])
    service.load()  # POST /v1/plugins/reload

    record = service.registry.get("fresh")
    assert record is not None and record.state is PluginState.INITIALIZED
    assert service.run("fresh", {}, "first") == ({"tool": "first", "version": "1.0.0"}, {})


def test_reload_imports_an_upgraded_plugin_afresh(
    site: Path, service: PluginManagementService
) -> None:
    install(site, "1.0.0", ["first"])
    service.load()
    assert [tool["name"] for tool in service.manifest("fresh")["tools"]] == ["first"]

    install(site, "2.0.0", ["first", "second"])  # pip install -U
    service.load()

    manifest = service.manifest("fresh")
    assert manifest["version"] == "2.0.0"
    assert [tool["name"] for tool in manifest["tools"]] == ["first", "second"]
    assert service.run("fresh", {}, "second") == ({"tool": "second", "version": "2.0.0"}, {})
    assert service.registry.get("image_info") is not None  # built-ins reloaded as they were
