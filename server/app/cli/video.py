"""``visor video submit``: a video file as a video job on a Visor server (docs/video.md).

The job is an ordinary job afterwards: ``visor jobs get|wait|cancel`` follow it too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli import output
from app.cli.arguments import (
    ArgOption,
    ArgsJsonOption,
    JsonFlag,
    QuietFlag,
    command_group,
    parse_args,
    parse_target,
)
from app.cli.client import VisorClient
from app.cli.errors import CliFailure, ExitCode, guarded
from app.cli.jobs import JobServerOption, PollOption, TimeoutOption, _await_finish
from app.errors import ErrorCode

video = command_group("Run a tool or a pipeline on a video's frames.")


@video.command("submit")
@guarded
def submit(
    target: Annotated[
        str,
        typer.Argument(
            metavar="TARGET",
            help="PLUGIN.TOOL, PLUGIN, or pipeline.NAME for a saved pipeline.",
        ),
    ],
    file: Annotated[str, typer.Argument(metavar="FILE", help="The video (mp4, mov, webm, mkv).")],
    fps: Annotated[float | None, typer.Option(help="Frames per second of video to take.")] = None,
    every: Annotated[
        int | None, typer.Option("--every", min=1, help="Take every n-th frame instead.")
    ] = None,
    start: Annotated[float | None, typer.Option(help="Start, seconds of video.")] = None,
    end: Annotated[float | None, typer.Option(help="End (exclusive), seconds of video.")] = None,
    arg: ArgOption = None,
    args_json: ArgsJsonOption = None,
    max_attempts: Annotated[int | None, typer.Option(min=1, help="Starts allowed.")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait and print the summary.")] = False,
    timeout: TimeoutOption = None,
    poll: PollOption = 0.5,
    server: JobServerOption = None,
    json_output: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """Submit a video job and print its id (the file is uploaded with it); with --wait,
    follow it with a progress bar and print the summary (--json: the whole result).

    TARGET comes first, as in `visor run` and `visor jobs submit` (the older FILE TARGET
    order still works)."""
    target, path = _ordered(target, file)
    fields: dict[str, str] = {}
    plugin, tool = parse_target(target)
    if plugin == "pipeline" and tool:
        fields["pipeline"] = tool
    else:
        fields["plugin"] = plugin
        if tool is not None:
            fields["tool"] = tool
        args = parse_args(arg, args_json)
        if args:
            fields["args"] = json.dumps(args)
    sample: dict[str, Any] = {
        k: v
        for k, v in {"fps": fps, "every_n_frames": every, "start_s": start, "end_s": end}.items()
        if v is not None
    }
    if sample:
        fields["sample"] = json.dumps(sample)
    if max_attempts is not None:
        fields["max_attempts"] = str(max_attempts)
    with VisorClient(server) as client:
        job = client.submit_video_job(path, fields)
        if not wait:
            if json_output:
                output.print_json_line(job)
            else:
                output.print_id(
                    str(job["id"]),
                    f"submitted video job [bold]{job['id']}[/] ({job['tool']}); "
                    f"follow it: visor jobs wait {job['id']}",
                    quiet=quiet,
                )
            return
        _await_finish(client, str(job["id"]), timeout, poll)
        answer = client.job_result(str(job["id"]))
    result = answer.get("result") or {}
    if json_output:
        output.print_json_line({"id": job["id"], **answer})
    else:
        summary = {"video": result.get("video"), "summary": result.get("summary")}
        output.print_result(f"video job {job['id']}", summary, answer.get("elapsed_ms"))


def _ordered(target: str, file: str) -> tuple[str, Path]:
    """``(TARGET, FILE)`` in either order: the video is the argument that names a file."""
    first, second = Path(target), Path(file)
    if second.is_file():
        return target, second
    if first.is_file():  # FILE TARGET, the order of the first release
        return file, first
    raise CliFailure.of(ErrorCode.INVALID_INPUT, f"no such file: {file}", ExitCode.USAGE, file=file)
