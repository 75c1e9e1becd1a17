"""Rendering for the CLI: Rich tables for people, JSON lines for machines.

Results go to stdout and everything else (errors, progress bars) to stderr, so
``visor run ... --json | jq`` always sees clean JSON.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from datetime import datetime
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
    """Jobs, one line each at 120 columns: ids never wrap (they are what you copy), no
    vertical borders, times to the second."""
    table = Table(title="Jobs", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("id", no_wrap=True, min_width=32)
    for column in ("tool", "status", "progress", "attempts"):
        table.add_column(column, no_wrap=True)
    table.add_column("created", overflow="fold")  # the first to give way on a narrow terminal
    table.add_column("took", justify="right", no_wrap=True)
    for job in jobs:
        progress = job.get("progress")
        table.add_row(
            escape(str(job["id"])),
            escape(f"{job.get('plugin')}.{job.get('tool') or ''}"),
            state(job.get("status")),
            "" if progress is None else f"{float(progress) * 100:.0f}%",
            f"{job.get('attempts', 0)}/{job.get('max_attempts', '?')}",
            escape(_second(job.get("created_at"))),
            _took(job.get("started_at"), job.get("finished_at")),
        )
    return table


def _second(timestamp: Any) -> str:
    """``2026-11-27T11:13:38.538404Z`` → ``2026-11-27 11:13:38`` (UTC)."""
    return str(timestamp or "")[:19].replace("T", " ")


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
