"""A worker's process tree: kept together while the worker lives, killed as one.

A tool may start subprocesses, and those may leave the worker's process group
(``setsid``, ``start_new_session=True``) or daemonise with a double fork, which hands the
grandchild to PID 1 on an ordinary system. Two pieces keep every such process reachable:

- :func:`become_subreaper`: each worker is a *child subreaper* (Linux
  ``PR_SET_CHILD_SUBREAPER``), so an orphan among its descendants is re-parented to the
  worker, not to PID 1: while the worker lives, everything a tool started is in its tree.
- :func:`kill_tree`: the one sweep every stop path uses (time limit, cancel, memory kill,
  replacement, graceful stop, the worker's own exit). It freezes the tree with ``SIGSTOP``
  until a walk finds nothing new (a frozen process cannot fork behind the walk), then
  ``SIGKILL``s the frozen processes and the root's process group.

Why not cgroups: see docs/isolation.md ("Subprocesses").
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

import psutil

_PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>
_MAX_ROUNDS = 16  # walks of a tree that keeps growing while we freeze it


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux only; False elsewhere
    or if the kernel refuses)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def kill_tree(root: int, *, include_root: bool = True) -> int:
    """SIGKILL every descendant of ``root`` (and, with ``include_root``, ``root`` and its
    process group). Safe on a root that is gone. Returns how many descendants were killed.

    A worker sweeping itself on its way out passes ``include_root=False``.
    """
    if include_root:
        _signal(root, signal.SIGSTOP)
    frozen: dict[int, psutil.Process] = {}
    for _ in range(_MAX_ROUNDS):
        found = [child for child in _descendants(root) if child.pid not in frozen]
        if not found:
            break
        for child in found:
            with contextlib.suppress(psutil.Error):
                child.send_signal(signal.SIGSTOP)
            frozen[child.pid] = child
    if include_root:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(root, signal.SIGKILL)
        _signal(root, signal.SIGKILL)
    for child in frozen.values():
        with contextlib.suppress(psutil.Error):
            child.kill()
    return len(frozen)


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []
    return [child for child in children if _running(child)]


def _running(process: psutil.Process) -> bool:
    try:
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)
