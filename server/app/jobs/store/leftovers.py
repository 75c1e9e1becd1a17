"""What a crash leaves on disk: partial files and files whose database row never came.

Both on-disk stores (job inputs, uploaded files) write a file first and its row second, so
a crash can only leave a file without a row, never a row without its file. A sweep deletes
such files once they are older than :data:`LEFTOVER_AGE_S`: older than any upload or
submit still being written, on this server or one sharing the directory (a file being
written keeps a fresh modification time).
"""

from __future__ import annotations

import time
from pathlib import Path

LEFTOVER_AGE_S = 3600.0


def cutoff(older_than_s: float) -> float:
    """The modification time before which a file counts as left behind."""
    return time.time() - older_than_s


def files_in(directory: Path) -> list[Path]:
    """The regular files directly in ``directory`` (none if it does not exist)."""
    try:
        return [entry for entry in directory.iterdir() if entry.is_file()]
    except FileNotFoundError:
        return []


def modified_before(path: Path, when: float) -> bool:
    """Whether ``path`` was last written, renamed or linked before ``when``: a hard link
    keeps its source's modification time, but linking and renaming set the change time."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return False
    return max(stat.st_mtime, stat.st_ctime) < when


def remove(path: Path) -> int:
    """Delete ``path``; 1 if this call deleted it, 0 if it was already gone."""
    try:
        path.unlink()
    except FileNotFoundError:
        return 0
    return 1
