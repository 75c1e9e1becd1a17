"""How the CLI fails: one line from the error envelope and a meaningful exit code.

Commands raise :class:`CliFailure`; :func:`guarded` turns it (and anything unexpected) into
a one-line message on stderr and an exit code. Tracebacks appear only with ``--debug``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from contextvars import ContextVar
from enum import IntEnum
from typing import Any, ParamSpec, TypeVar

import typer

from app.errors import ErrorCode, build_envelope

P = ParamSpec("P")
R = TypeVar("R")


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # a call, job or check failed (the envelope says why)
    USAGE = 2  # bad arguments (also what Typer itself uses)
    UNREACHABLE = 3  # the server could not be reached or answered nonsense


class CliFailure(Exception):
    """An expected failure, described by the envelope's public ``error`` section."""

    def __init__(self, error: dict[str, Any], exit_code: ExitCode = ExitCode.FAILED) -> None:
        super().__init__(error.get("message", "failed"))
        self.error = error
        self.exit_code = exit_code

    def describe(self) -> str:
        """What the user reads: the envelope's ``Type/code: message`` (and, for a refused
        key, what this shell sends: the server cannot know)."""
        text = one_line(self.error)
        if (self.error.get("details") or {}).get("code") == ErrorCode.UNAUTHORIZED.value:
            text += "\nhint: " + key_hint()
        return text

    @classmethod
    def of(
        cls,
        code: ErrorCode,
        message: str,
        exit_code: ExitCode = ExitCode.FAILED,
        **details: Any,
    ) -> CliFailure:
        return cls(build_envelope(code, message, details=details)["error"], exit_code)


class ServerUnreachable(CliFailure):
    """No answer from a Visor server: a connection problem, not an error of the API.

    It has no envelope (nothing answered), so it is printed as what it is, with a hint.
    """

    def __init__(self, url: str, problem: str, hint: str) -> None:
        self.url = url
        self.problem = problem
        self.hint = hint
        message = f"cannot reach the Visor server at {url}: {problem}"
        super().__init__({"message": message, "details": {"hint": hint}}, ExitCode.UNREACHABLE)

    def describe(self) -> str:
        return f"{self.error['message']}\nhint: {self.hint}"


def key_hint() -> str:
    """Whether this shell sends a key, and how to make it send one."""
    if os.environ.get("VISOR_API_KEY"):
        return (
            "VISOR_API_KEY is set, but the server refused it: check it with "
            "'visor keys list' on the server's machine, or make a new one there"
        )
    return (
        "no key was sent: export VISOR_API_KEY=KEY with a key from "
        "'visor keys create NAME --scope run' on the server's machine"
    )


def one_line(error: dict[str, Any]) -> str:
    """``ExecutionError/tool_error: message`` — the shape every failure is printed in."""
    details = error.get("details") or {}
    code = details.get("code", "error")
    message = str(error.get("message", ""))
    step = details.get("step")  # a pipeline's failing step: say which
    if step is not None and not message.startswith(f"step {step!r}"):
        region = details.get("region")
        where = f"step {step!r}" + (f", region {region}" if region is not None else "")
        message = f"{where}: {message}"
    return f"{error.get('type', 'Error')}/{code}: {message}"


#: Set by the root ``--debug`` option for the command being run.
debug_mode: ContextVar[bool] = ContextVar("visor_cli_debug", default=False)


def guarded(command: Callable[P, R]) -> Callable[P, R]:
    """Run a command so failures end in one line on stderr and a non-zero exit code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from app.cli.output import print_failure

        try:
            return command(*args, **kwargs)
        except CliFailure as exc:  # expected: the envelope says it all, even with --debug
            print_failure(exc.describe())
            raise typer.Exit(int(exc.exit_code)) from None
        except (typer.Exit, typer.Abort, typer.BadParameter):
            raise
        except Exception as exc:
            if debug_mode.get():
                raise
            error = build_envelope(
                ErrorCode.INTERNAL,
                f"{type(exc).__name__}: {exc} (run with --debug for the traceback)",
            )["error"]
            print_failure(one_line(error))
            raise typer.Exit(int(ExitCode.FAILED)) from None

    return wrapper
