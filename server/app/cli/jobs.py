"""``visor jobs``: submit, list, inspect, follow and cancel jobs on a Visor server.

Jobs live in the server's store, so every command here talks to a server (``--server``,
``VISOR_SERVER``; by default the one ``visor serve`` starts with the same ``VISOR_HOST`` and
``VISOR_PORT``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from app.cli import output
from app.cli.arguments import (
    ArgOption,
    ArgsJsonOption,
    JsonFlag,
    QuietFlag,
    TargetArgument,
    command_group,
    image_arguments,
    parse_args,
    parse_target,
)
from app.cli.client import VisorClient
from app.cli.errors import CliFailure, ExitCode, guarded
from app.errors import ErrorCode
from app.jobs.status import JobStatus

FINISHED = frozenset({"SUCCESS", "FAILED", "CANCELLED"})

jobs = command_group("Submit and follow jobs on a Visor server.")

JobServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        "-s",
        envvar="VISOR_SERVER",
        metavar="URL",
        help="The Visor server: a URL or host:port (default: where `visor serve` listens, "
        "from VISOR_HOST/VISOR_PORT).",
    ),
]
JobId = Annotated[str, typer.Argument(metavar="JOB_ID", help="The job id.")]
TimeoutOption = Annotated[
    float | None,
    typer.Option("--timeout", metavar="SECONDS", help="Give up waiting after this long."),
]
PollOption = Annotated[
    float, typer.Option("--poll", metavar="SECONDS", help="Time between status checks.")
]


@jobs.command("submit")
@guarded
def submit(
    target: TargetArgument,
    file: Annotated[
        Path | None,
        typer.Argument(metavar="FILE", help="Image file.", exists=True, dir_okay=False),
    ] = None,
    arg: ArgOption = None,
    args_json: ArgsJsonOption = None,
    max_attempts: Annotated[
        int | None, typer.Option(min=1, help="Starts allowed if a server dies mid-run.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait and print the result.")] = False,
    timeout: TimeoutOption = None,
    poll: PollOption = 0.25,
    server: JobServerOption = None,
    json_output: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """Submit a job and print its id (alone on stdout); with --wait, follow it and print
    its result."""
    plugin, tool = parse_target(target)
    body: dict[str, Any] = {"plugin": plugin, "args": parse_args(arg, args_json)}
    if tool is not None:
        body["tool"] = tool
    if file is not None:
        body.update(image_arguments(file, target))
    if max_attempts is not None:
        body["max_attempts"] = max_attempts
    with VisorClient(server) as client:
        job = client.submit_job(body)
        if wait:
            _follow(client, str(job["id"]), timeout, poll, json_output)
            return
    if json_output:
        output.print_json_line(job)
    else:
        job_id = str(job["id"])
        output.print_id(
            job_id,
            f"submitted job [bold]{job_id}[/] ({output.state(job.get('status'))}); "
            f"follow it: visor jobs wait {job_id}",
            quiet=quiet,
        )


@jobs.command("list")
@guarded
def list_jobs(
    status: Annotated[
        JobStatus | None,
        typer.Option(
            case_sensitive=False,
            metavar="STATUS",
            help="Only jobs in this status: "
            + ", ".join(status.value for status in JobStatus)
            + " (any case).",
        ),
    ] = None,
    plugin: Annotated[str | None, typer.Option(help="Only this plugin's jobs.")] = None,
    tool: Annotated[str | None, typer.Option(help="Only this tool's jobs.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Jobs per page.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="Page cursor from a previous list.")] = None,
    server: JobServerOption = None,
    json_output: JsonFlag = False,
) -> None:
    """List jobs, newest first, with filters and paging."""
    with VisorClient(server) as client:
        page = client.jobs(status=status, plugin=plugin, tool=tool, limit=limit, cursor=cursor)
    if json_output:
        output.print_json_line(page)
        return
    output.out.print(output.jobs_table(page.get("jobs", [])))
    if page.get("next_cursor"):
        output.err.print(f"more: --cursor {page['next_cursor']}")


@jobs.command("get")
@guarded
def get(job_id: JobId, server: JobServerOption = None, json_output: JsonFlag = False) -> None:
    """Show one job."""
    with VisorClient(server) as client:
        job = client.job(job_id)
    if json_output:
        output.print_json_line(job)
        return
    output.out.print(output.job_detail(job))
    if job.get("result") is not None:
        output.out.print_json(data=job["result"])


@jobs.command("wait")
@guarded
def wait_for(
    job_id: JobId,
    timeout: TimeoutOption = None,
    poll: PollOption = 0.25,
    server: JobServerOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Follow a job with a progress bar until it finishes; print its result."""
    with VisorClient(server) as client:
        _follow(client, job_id, timeout, poll, json_output)


@jobs.command("cancel")
@guarded
def cancel(job_id: JobId, server: JobServerOption = None, json_output: JsonFlag = False) -> None:
    """Cancel a PENDING or RUNNING job."""
    with VisorClient(server) as client:
        job = client.cancel_job(job_id)
    if json_output:
        output.print_json_line(job)
    else:
        output.print_id(
            str(job["id"]), f"job [bold]{job['id']}[/] is {output.state(job.get('status'))}"
        )


def _follow(
    client: VisorClient, job_id: str, timeout_s: float | None, poll_s: float, json_output: bool
) -> None:
    job = _await_finish(client, job_id, timeout_s, poll_s)
    try:
        answer = client.job_result(job_id)
    except CliFailure as exc:
        if exc.exit_code is ExitCode.UNREACHABLE:
            raise
        if json_output:
            output.print_json_line({"id": job_id, "status": job.get("status"), "error": exc.error})
        raise
    if json_output:
        output.print_json_line({"id": job_id, "status": job.get("status"), **answer})
    else:
        output.print_result(f"job {job_id}", answer.get("result") or {}, answer.get("elapsed_ms"))


def _await_finish(
    client: VisorClient, job_id: str, timeout_s: float | None, poll_s: float
) -> dict[str, Any]:
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    bar = Progress(
        TextColumn("[bold]{task.fields[status]}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=output.err,
        transient=True,
        disable=not output.err.is_terminal,  # no stray last frame in a redirected stderr
    )
    with bar:
        task = bar.add_task("", total=1.0, status="PENDING")
        while True:
            job = client.job(job_id)
            status = str(job.get("status"))
            bar.update(
                task,
                completed=float(job.get("progress") or 0.0),
                description=job.get("progress_message") or "",
                status=status,
            )
            if status in FINISHED:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise CliFailure.of(
                    ErrorCode.TIMEOUT,
                    f"job {job_id} is still {status} after {timeout_s}s",
                    job_id=job_id,
                )
            time.sleep(poll_s)
