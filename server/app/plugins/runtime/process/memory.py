"""Memory settings of a child process: plugin workers, Ray actors and video decoders."""

from __future__ import annotations

import ctypes
import ctypes.util
import resource

#: Allocations up to this size come from the heap, not from a fresh ``mmap`` each time.
_MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024  # glibc's largest
#: Free memory a worker keeps at the top of its heap between calls.
_TRIM_THRESHOLD_BYTES = 64 * 1024 * 1024
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def cap_heap(limit_mb: int | None) -> None:
    """Cap this process's heap (RLIMIT_DATA): allocations past it raise MemoryError.

    RLIMIT_DATA counts writable private memory (heap and anonymous mappings) but not the
    address space that shared libraries or GPU runtimes merely reserve, so it tracks what a
    process really uses where RLIMIT_AS would break large virtual reservations. ``None`` or
    0: no cap.
    """
    if not limit_mb:
        return
    limit = int(limit_mb) * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def keep_freed_memory() -> bool:
    """Let the allocator reuse a call's buffers for the next call instead of handing them
    back to the OS after every call (glibc only; False where it cannot be set).

    A tool runs on the worker's main thread, whose glibc arena returns freed memory at
    once: every call on a photo (decoded pixels, grey copies, a detector's buffers — tens
    of MB) unmapped its buffers and page-faulted them back in on the next call, over 4,000
    faults and about a sixth of a barcode call's CPU. A thread's arena, where a bare
    endpoint's tool runs, keeps them. This keeps up to 64 MB free on the heap between
    calls, which is what the next call of the same tool reuses.
    """
    path = ctypes.util.find_library("c")
    if path is None:
        return False
    try:
        mallopt = ctypes.CDLL(path).mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return False
    return bool(
        mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)
        and mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES)
    )
