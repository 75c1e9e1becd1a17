"""``visor run PLUGIN.TOOL FILES...``: run one tool on each file, here or on a server.

In-process by default (the same services as the server, so the same validation, limits
and envelopes); with ``--server`` every file is one HTTP call. Batches get a progress bar
on stderr; results go to stdout, in input order, one per file.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.cli import output
from app.cli.arguments import (
    ArgOption,
    ArgsJsonOption,
    JsonFlag,
    ServerOption,
    image_arguments,
    parse_args,
    parse_target,
    refuse_video,
    usage_error,
)
from app.cli.client import VisorClient
from app.cli.errors import CliFailure, ExitCode, guarded
from app.errors import ErrorCode, public_error
from app.pipelines.names import PIPELINE_JOB_PLUGIN
from app.plugins.runtime.executor import call_context
from app.services.plugin_management_service import PluginManagementService
from app.settings import Settings


@dataclass(frozen=True)
class Outcome:
    """What one file produced: a result or the envelope's error section."""

    source: str | None
    plugin: str
    tool: str | None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    elapsed_ms: float | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"file": self.source, "plugin": self.plugin, "tool": self.tool}
        if self.error is not None:
            return {**body, "error": self.error}
        return {**body, "result": self.result, "elapsed_ms": self.elapsed_ms}


Call = Callable[[Path | None], Outcome]


@guarded
def run(
    target: Annotated[str, typer.Argument(help="PLUGIN.TOOL, or PLUGIN for its default tool.")],
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Image files; none runs the tool once.", exists=True, dir_okay=False),
    ] = None,
    arg: ArgOption = None,
    args_json: ArgsJsonOption = None,
    server: ServerOption = None,
    json_output: JsonFlag = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-j", min=1, max=64, help="Files run at once.")
    ] = 1,
) -> None:
    """Run a tool (or a saved pipeline: pipeline.NAME) on files; one result per file."""
    plugin, tool = parse_target(target)
    args = parse_args(arg, args_json)
    inputs: list[Path | None] = list(files) if files else [None]
    if plugin == PIPELINE_JOB_PLUGIN and tool is not None:
        from app.cli.pipelines import pipeline_caller

        if args:
            raise usage_error("a pipeline takes no --arg/--args: its steps carry their own")
        with pipeline_caller(server, tool) as call:
            run_batch(call, inputs, concurrency, json_output)
        return
    with _caller(server, plugin, tool, args) as call:
        run_batch(call, inputs, concurrency, json_output)


def run_batch(call: Call, inputs: list[Path | None], concurrency: int, json_output: bool) -> None:
    """Run every input and print the outcomes; exit code 1 when any failed."""
    failures = _run_all(call, inputs, concurrency, json_output)
    if len(inputs) > 1 and not json_output:
        ok = len(inputs) - failures
        output.err.print(f"{len(inputs)} files: {ok} ok, {failures} failed")
    if failures:
        raise typer.Exit(int(ExitCode.FAILED))


def _run_all(call: Call, inputs: list[Path | None], concurrency: int, json_output: bool) -> int:
    """Run every input, printing each outcome in input order; returns the failure count."""
    failures = 0
    with ThreadPoolExecutor(max_workers=concurrency) as pool, _progress(len(inputs)) as advance:
        for outcome in pool.map(call, inputs):
            advance()
            failures += outcome.error is not None
            _show(outcome, json_output)
    return failures


@contextmanager
def _progress(total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr for batches; a no-op for a single call."""
    if total < 2:
        yield lambda: None
        return
    bar = Progress(
        TextColumn("[bold]running"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files"),
        TimeElapsedColumn(),
        console=output.err,
        disable=not output.err.is_terminal,  # no stray last frame in a redirected stderr
    )
    task = bar.add_task("files", total=total)
    with bar:
        yield lambda: bar.advance(task)


def _show(outcome: Outcome, json_output: bool) -> None:
    if json_output:
        output.print_json_line(outcome.as_json())
        return
    title = outcome.source or f"{outcome.plugin}.{outcome.tool or ''}"
    if outcome.error is not None:
        output.print_file_failure(title, outcome.error)
    else:
        output.print_result(title, outcome.result or {}, outcome.elapsed_ms)


@contextmanager
def _caller(
    server: str | None, plugin: str, tool: str | None, args: dict[str, Any]
) -> Iterator[Call]:
    if server:
        with VisorClient(server) as client:
            yield _remote_call(client, plugin, tool, args)
        return
    from app.cli.local import local_services

    with local_services(Settings()) as service:
        service.start(plugin)  # only the chosen plugin's workers
        yield _local_call(service, plugin, tool, args)


def _local_call(
    service: PluginManagementService, plugin: str, tool: str | None, args: dict[str, Any]
) -> Call:
    def call(file: Path | None) -> Outcome:
        source = str(file) if file else None
        try:
            payload = (
                {**image_arguments(file, _target(plugin, tool)), **args} if file else dict(args)
            )
        except CliFailure as exc:
            return Outcome(source, plugin, tool, error=exc.error)
        started = time.perf_counter()
        with call_context():
            result, error = service.run(plugin, payload, tool)
        chosen = service.selected_tool(plugin, tool, payload)
        if error:
            return Outcome(source, plugin, chosen, error=public_error(error)["error"])
        elapsed_ms = round((time.perf_counter() - started) * 1000.0, 3)
        return Outcome(source, plugin, chosen, result=result, elapsed_ms=elapsed_ms)

    return call


def _target(plugin: str, tool: str | None) -> str:
    return f"{plugin}.{tool}" if tool else plugin


def _remote_call(client: VisorClient, plugin: str, tool: str | None, args: dict[str, Any]) -> Call:
    def call(file: Path | None) -> Outcome:
        source = str(file) if file else None
        try:
            if tool is None:  # the server picks the default tool
                body: dict[str, Any] = {"plugin": plugin, "args": args}
                if file is not None:
                    body.update(image_arguments(file, plugin))
                answer = client.analyze(body)
            else:
                if file is not None:
                    with file.open("rb") as handle:
                        refuse_video(file, handle.read(64), _target(plugin, tool))
                answer = client.run_tool(plugin, tool, args, file)
        except CliFailure as exc:
            if exc.exit_code is ExitCode.UNREACHABLE:
                raise
            return Outcome(source, plugin, tool, error=exc.error)
        except OSError as exc:
            failure = CliFailure.of(ErrorCode.INVALID_INPUT, f"cannot read {file}: {exc}")
            return Outcome(source, plugin, tool, error=failure.error)
        return Outcome(
            source,
            plugin,
            answer.get("tool", tool),
            result=answer.get("result"),
            elapsed_ms=answer.get("elapsed_ms"),
        )

    return call
