"""Plugins for the governance tests: one that tries to opt out of isolation, one that hangs.

Module level so a worker process can import them by ``module:Class``.
"""

from __future__ import annotations

import os
import threading

from app.plugins.base import Plugin, tool

#: Set by a test to let the stuck tool return (in-process runs share this process).
RELEASE = threading.Event()


class OptsOutPlugin(Plugin):
    name = "opts_out"
    version = "1.0.0"
    isolation = "in_process"  # what issue 10 found enough to escape isolation: now ignored

    @tool
    def where(self) -> dict:
        return {"pid": os.getpid()}


class StuckPlugin(Plugin):
    name = "stuck"
    version = "1.0.0"
    workers = 1

    @tool(timeout_s=0.3)
    def hang(self) -> dict:
        RELEASE.wait()  # ignores ctx.cancelled: the kind of tool a thread cannot stop
        return {"released": True}

    @tool
    def ping(self) -> dict:
        return {"pong": True}

    @tool
    def block(self, args: dict) -> dict:
        """Say it started (a marker file), then never return."""
        with open(args["marker"], "w") as out:
            out.write(str(os.getpid()))
        RELEASE.wait()
        return {"released": True}


class StuckIsolatedPlugin(StuckPlugin):
    name = "stuck_isolated"


_CHILD = (
    "import os, signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "mode, pid_file = sys.argv[1], sys.argv[2]\n"
    "if mode == 'escape': os.setsid()\n"
    "if mode == 'daemon':\n"  # the classic double fork: the sleeper's parent is gone
    "    if os.fork(): os._exit(0)\n"
    "    os.setsid()\n"
    "    if os.fork(): os._exit(0)\n"
    "with open(pid_file + '.tmp', 'w') as out: out.write(str(os.getpid()))\n"
    "os.replace(pid_file + '.tmp', pid_file)\n"
    "time.sleep(600)\n"
)


class SpawnerPlugin(Plugin):
    """Starts a subprocess that ignores SIGTERM and may leave the process group
    (``escape``: setsid) or daemonise (``daemon``: double fork + setsid); the sleeper
    writes its own pid to ``pid_file``."""

    name = "spawner"
    version = "1.0.0"
    workers = 1

    @tool
    def spawn(self, args: dict) -> dict:
        import subprocess
        import sys
        import time

        pid_file = args["pid_file"]
        subprocess.Popen([sys.executable, "-c", _CHILD, args.get("mode", "stay"), pid_file])
        deadline = time.monotonic() + 30
        while not os.path.exists(pid_file) and time.monotonic() < deadline:
            time.sleep(0.01)
        with open(pid_file) as found:
            child = int(found.read())
        if args.get("hang", True):
            time.sleep(600)
        return {"child": child}


class FloodPlugin(Plugin):
    """Prints as much as it is asked to (issue 10 item 7: 20 MB became 81,940 log lines)."""

    name = "flood"
    version = "1.0.0"
    workers = 1

    @tool
    def flood(self, args: dict) -> dict:
        import sys

        line = "x" * int(args.get("width", 100))
        for i in range(int(args["lines"])):
            sys.stdout.write(f"{i} {line}\n")
        sys.stdout.flush()
        return {"printed": int(args["lines"])}
