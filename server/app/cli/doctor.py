"""``visor doctor``: is this installation able to serve?

Checks what breaks a server at startup or first use — settings, a writable data
directory and job store, plugins that load and start — and reports optional extras, and
optional plugins that lack theirs, as warnings with the install command that adds them.
Exit code 1 only when a required check fails.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from app.cli import output
from app.cli.arguments import JsonFlag
from app.cli.errors import ExitCode, guarded
from app.settings import Settings

#: extra name → (modules it provides, what it enables)
OPTIONAL_EXTRAS: dict[str, tuple[tuple[str, ...], str]] = {
    "postgres": (("psycopg",), "PostgreSQL job store"),
    "ocr-rapid": (("rapidocr", "onnxruntime"), "RapidOCR engine"),
}


def install_hint(extra: str) -> str:
    """The command that adds an extra, as run from the repository root."""
    return f'pip install -e "./server[{extra}]"'


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


@guarded
def doctor(json_output: JsonFlag = False) -> None:
    """Check the installation: settings, storage, plugins, optional extras."""
    checks = list(run_checks())
    if json_output:
        output.print_json_line({"checks": [asdict(check) for check in checks]})
    else:
        output.out.print(_table(checks))
    if any(check.status is Status.FAIL for check in checks):
        raise typer.Exit(int(ExitCode.FAILED))


def run_checks() -> Iterator[Check]:
    yield _python()
    try:
        settings = Settings()
    except Exception as exc:  # pydantic explains which VISOR_* variable is wrong
        yield Check("settings", Status.FAIL, f"invalid settings: {exc}")
        return
    yield Check("settings", Status.OK, f"data directory {settings.data_dir}")
    yield _writable(settings.data_dir)
    yield _job_store(settings)
    yield _api_keys(settings)
    yield from _plugins(settings)
    yield from _extras()


def _python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    return Check("python", Status.OK, f"Python {version} ({sys.executable})")


def _writable(directory: Path) -> Check:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".visor-doctor-"):
            pass
    except OSError as exc:
        return Check("data directory", Status.FAIL, f"{directory} is not writable: {exc}")
    return Check("data directory", Status.OK, f"{directory} is writable")


def _job_store(settings: Settings) -> Check:
    url = settings.resolved_database_url()
    if url.startswith("sqlite"):
        return Check("job store", Status.OK, f"SQLite under {settings.data_dir}")
    if url.startswith("postgresql") and importlib.util.find_spec("psycopg") is None:
        return Check(
            "job store",
            Status.FAIL,
            f"PostgreSQL URL set but psycopg is missing: {install_hint('postgres')}",
        )
    return Check("job store", Status.OK, f"{url.split('://', 1)[0]} (connection not tested)")


def _api_keys(settings: Settings) -> Check:
    """Whether a server on these settings wants keys, and how to send one or turn them off."""
    from app.auth.exposure import AuthMode
    from app.auth.store import KeyStore
    from app.store.engine import build_engine
    from app.store.migrate import upgrade

    mode = AuthMode(settings.auth)
    if mode is AuthMode.OFF:
        return Check("api keys", Status.OK, "off (VISOR_AUTH=off): no request needs a key")
    engine = build_engine(settings.resolved_database_url())
    try:
        upgrade(engine)
        found = KeyStore(engine).list_keys()
    except Exception as exc:  # the job store check reports the database itself
        return Check("api keys", Status.WARN, f"cannot read the keys: {type(exc).__name__}")
    finally:
        engine.dispose()
    active = sum(1 for key in found if key.revoked_at is None)
    if not found and mode is AuthMode.AUTO:
        return Check(
            "api keys",
            Status.OK,
            "off: no keys, so a server on 127.0.0.1 answers this machine without one "
            "(VISOR_AUTH=auto; the first 'visor keys create' turns keys on)",
        )
    why = "VISOR_AUTH=required" if mode is AuthMode.REQUIRED else "VISOR_AUTH=auto"
    counts = f"{active} active, {len(found) - active} revoked"
    sending = os.environ.get("VISOR_API_KEY")
    detail = f"on ({why}; {counts}): every request needs a key; this shell " + (
        "sends VISOR_API_KEY" if sending else "sends none: export VISOR_API_KEY=KEY"
    )
    if mode is AuthMode.AUTO:
        detail += "; 'visor keys delete --all' turns keys off again"
    return Check("api keys", Status.OK if sending else Status.WARN, detail)


def _plugins(settings: Settings) -> Iterator[Check]:
    from app.cli.local import local_services
    from app.plugins.loader.plugin_registry import PluginState

    with local_services(settings, start=True) as service:  # doctor checks that they start
        plugins = service.list_plugins()
    if not plugins:
        yield Check("plugins", Status.FAIL, "no plugins found (is the allowlist too strict?)")
    missing = _missing_requirements()
    for plugin in plugins:
        if plugin.name in missing:  # an optional plugin without its extra: not a failure
            yield Check(f"plugin {plugin.name}", Status.WARN, missing[plugin.name])
        elif plugin.state in (PluginState.UNAVAILABLE, PluginState.FAILED):
            yield Check(f"plugin {plugin.name}", Status.FAIL, f"{plugin.state}: {plugin.reason}")
        else:
            tools = ", ".join(plugin.tools) or "no tools"
            yield Check(f"plugin {plugin.name}", Status.OK, f"{plugin.version} loads ({tools})")


def _missing_requirements() -> dict[str, str]:
    """Plugins whose own ``check_requirements`` says an optional dependency is missing."""
    from app.plugins.base import PluginUnavailable
    from app.plugins.loader.plugin_loader import discover, resolve_plugin

    missing: dict[str, str] = {}
    for source in discover():
        try:
            plugin_cls, _ = resolve_plugin(source.load())
            plugin_cls.check_requirements()
        except PluginUnavailable as exc:
            missing[source.key] = f"optional plugin, cannot run: {exc.message}"
        except Exception:  # reported by the load check above with its reason
            continue
    return missing


def _extras() -> Iterator[Check]:
    for extra, (modules, purpose) in OPTIONAL_EXTRAS.items():
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        if missing:
            yield Check(
                f"extra {extra}",
                Status.WARN,
                f"{purpose} unavailable: {install_hint(extra)}",
            )
        else:
            yield Check(f"extra {extra}", Status.OK, f"{purpose} available")


def _table(checks: list[Check]) -> Table:
    style = {Status.OK: "green", Status.WARN: "yellow", Status.FAIL: "red"}
    table = Table(title="visor doctor", title_justify="left")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for check in checks:
        table.add_row(
            escape(check.name),
            f"[{style[check.status]}]{check.status.value}[/]",
            escape(check.detail),
        )
    return table
