"""Rendering for the CLI: Rich tables for people, JSON lines for machines.

Results go to stdout and everything else (errors, progress bars, "submitted ..." and other
sentences) to stderr, so ``visor run ... --json | jq`` always sees clean JSON and
``J=$(visor jobs submit ...)`` gets the job id alone.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from rich import box
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.table import Table

from app.cli.errors import one_line

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

_STATE_STYLE = {
    "RUNNING": "green",
    "INITIALIZED": "green",
    "LOADED": "cyan",
    "FAILED": "red",
    "UNAVAILABLE": "yellow",
    "SUCCESS": "green",
    "PENDING": "cyan",
    "CANCELLED": "yellow",
}


def print_failure(text: str) -> None:
    err.print(f"[red]error:[/] {escape(text)}")


def print_json_line(value: Any) -> None:
    """One compact JSON document per line on stdout (never wrapped, never styled)."""
    sys.stdout.write(orjson.dumps(value).decode("utf-8") + "\n")
    sys.stdout.flush()


def print_id(identifier: str, message: str, *, quiet: bool = False) -> None:
    """What a command made: its id alone on stdout (what ``$(...)`` captures), the
    sentence for people on stderr (left out with ``--quiet``)."""
    if not quiet:
        err.print(message)
    sys.stdout.write(identifier + "\n")
    sys.stdout.flush()


def print_message(message: str) -> None:
    """A sentence for people (done, deleted, ...): stderr, so stdout stays data."""
    err.print(message)


def print_result(title: str, result: Mapping[str, Any], elapsed_ms: float | None = None) -> None:
    timing = f" [dim]({elapsed_ms:.1f} ms)[/]" if elapsed_ms is not None else ""
    out.print(f"[green]✓[/] [bold]{escape(title)}[/]{timing}")
    out.print_json(data=dict(result))


def print_file_failure(title: str, error: Mapping[str, Any]) -> None:
    err.print(f"[red]✗[/] [bold]{escape(title)}[/]: {escape(one_line(dict(error)))}")


def state(value: str | None) -> str:
    if not value:
        return ""
    return f"[{_STATE_STYLE.get(value, 'white')}]{escape(value)}[/]"


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def plugins_table(plugins: Iterable[Mapping[str, Any]]) -> RenderableType:
    """Plugins with state, tools and metrics (the shape of ``GET /v1/plugins``).

    Fits 80 columns: versions sit under the names, tools get a line each, and the reasons
    of plugins that cannot serve follow the table instead of squeezing it.
    """
    table = Table(title="Plugins", title_justify="left")
    for column in ("plugin", "state", "tools", "ok", "errors", "avg ms", "p95 ms"):
        numeric = column in ("ok", "errors", "avg ms", "p95 ms")
        table.add_column(column, justify="right" if numeric else "left", no_wrap=True)
    reasons: list[str] = []
    for plugin in plugins:
        name = escape(plugin["name"])
        version = escape(plugin.get("version") or "")
        table.add_row(
            f"{name}\n[dim]{version}[/]" if version else name,
            state(plugin.get("state")),
            escape("\n".join(plugin.get("tools") or {})),
            str(plugin.get("success_count", 0)),
            str(plugin.get("error_count", 0)),
            _ms(plugin.get("avg_execution_time_ms")),
            _ms(plugin.get("p95_ms")),
        )
        if plugin.get("reason"):
            reasons.append(f"[bold]{name}[/]: {escape(plugin['reason'])}")
    return Group(table, *reasons) if reasons else table


def jobs_table(jobs: Iterable[Mapping[str, Any]]) -> Table:
    """Jobs in 80 columns: the id whole on its own line (it is what you copy), the tool and
    attempts under it, status with progress, created (UTC, to the minute) and time taken."""
    table = Table(title="Jobs", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("job", no_wrap=True, min_width=32)
    table.add_column("status", no_wrap=True)
    table.add_column("created", no_wrap=True)
    table.add_column("took", justify="right", no_wrap=True)
    for job in jobs:
        tool = f"{job.get('plugin')}.{job.get('tool') or ''}".rstrip(".")
        attempts, most = job.get("attempts", 0), job.get("max_attempts")
        if attempts and most and attempts > 1:
            tool += f" · try {attempts}/{most}"
        status = state(job.get("status"))
        progress = job.get("progress")
        if job.get("status") == "RUNNING" and progress is not None:
            status += f" {float(progress) * 100:.0f}%"
        table.add_row(
            f"{escape(str(job['id']))}\n[dim]{escape(_fit(tool, 32))}[/]",
            status,
            escape(_minute(job.get("created_at"))),
            _took(job.get("started_at"), job.get("finished_at")),
        )
    return table


def keys_table(keys: Iterable[Mapping[str, Any]]) -> Table:
    """API keys in 80 columns (never a secret): dates to the day, one state column."""
    table = Table(title="API keys", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("name", overflow="fold", max_width=20)
    table.add_column("id", no_wrap=True)
    for column in ("scope", "created", "last used", "state"):
        table.add_column(column, no_wrap=True)
    for key in keys:
        if key.get("revoked_at"):
            shown = f"[yellow]revoked {_day(key['revoked_at'])}[/]"
        elif key.get("expires_at") and str(key["expires_at"]) <= _now_iso():
            shown = "[yellow]expired[/]"
        elif key.get("expires_at"):
            shown = f"[green]active[/] to {_day(key['expires_at'])}"
        else:
            shown = "[green]active[/]"
        table.add_row(
            escape(str(key["name"])),
            escape(str(key["id"])),
            escape(str(key["scope"])),
            _day(key.get("created_at")),
            _day(key.get("last_used_at")) or "never",
            shown,
        )
    return table


def models_table(models: Iterable[Mapping[str, Any]]) -> Table:
    """Models with their versions (the default first) in 80 columns."""
    table = Table(title="Models", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("model", overflow="fold", max_width=24)
    table.add_column("task", no_wrap=True)
    table.add_column("default", justify="right", no_wrap=True)
    table.add_column("versions", overflow="fold", max_width=16)
    table.add_column("labels", justify="right", no_wrap=True)
    for model in models:
        versions = [v for v in model.get("versions") or []]
        default = next((v for v in versions if v.get("default")), versions[0] if versions else {})
        table.add_row(
            escape(str(model["name"])),
            escape(str(model.get("task") or "")),
            str(model.get("default_version") or ""),
            ", ".join(str(v["version"]) for v in versions),
            str(len(default.get("labels") or [])),
        )
    return table


def pipelines_table(pipelines: Iterable[Mapping[str, Any]]) -> Table:
    """Saved pipelines, a step a line, in 80 columns."""
    table = Table(title="Pipelines", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("pipeline", overflow="fold", max_width=24)
    table.add_column("steps", overflow="fold", max_width=28)
    table.add_column("description", overflow="fold")
    for saved in pipelines:
        steps = saved["spec"]["steps"]
        table.add_row(
            escape(saved["name"]),
            escape("\n".join(f"{s['id']}: {s['tool']}" for s in steps)),
            escape(saved["spec"].get("description") or ""),
        )
    return table


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _minute(timestamp: Any) -> str:
    """``2026-11-27T11:13:38.538404Z`` → ``11-27 11:13`` (UTC)."""
    text = str(timestamp or "")
    return f"{text[5:10]} {text[11:16]}" if len(text) >= 16 else text


def _day(timestamp: Any) -> str:
    return str(timestamp or "")[:10]


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _took(started: Any, finished: Any) -> str:
    if not started or not finished:
        return ""
    try:
        begin = datetime.fromisoformat(str(started).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(finished).replace("Z", "+00:00"))
    except ValueError:
        return ""
    return f"{(end - begin).total_seconds():.1f}s"


def job_detail(job: Mapping[str, Any]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for key in (
        "id",
        "plugin",
        "tool",
        "status",
        "progress",
        "progress_message",
        "attempts",
        "max_attempts",
        "created_at",
        "started_at",
        "finished_at",
    ):
        value = job.get(key)
        shown = state(value) if key == "status" else escape("" if value is None else str(value))
        table.add_row(key, shown)
    if job.get("error"):
        table.add_row("error", escape(one_line(job["error"])))
    return table
