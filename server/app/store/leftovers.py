"""What a crash leaves on disk: partial files and files whose database row never came.

Both on-disk stores (job inputs, uploaded files) write a file first and its row second, so
a crash can only leave a file without a row, never a row without its file. A sweep deletes
such files once they are older than :data:`LEFTOVER_AGE_S`: older than any upload or
submit still being written, on this server or one sharing the directory (a file being
written keeps a fresh modification time).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

LEFTOVER_AGE_S = 3600.0
_CHUNK = 500  # ids per existence query


def sweep(
    candidates: Iterable[Path],
    row_of: Callable[[Path], str | None],
    existing: Callable[[list[str]], Collection[str]],
    *,
    older_than_s: float = LEFTOVER_AGE_S,
) -> int:
    """Delete the ``candidates`` untouched for ``older_than_s`` that are partial (``.part``)
    or belong to a row that does not exist: ``row_of`` names a file's row id (None: not a
    file the store wrote), ``existing`` says which of some ids have rows. Returns how many
    files were deleted."""
    when = cutoff(older_than_s)
    removed = 0
    by_row: dict[str, list[Path]] = {}
    for path in candidates:
        if not modified_before(path, when):
            continue
        if path.name.endswith(".part"):
            removed += remove(path)
        elif (row := row_of(path)) is not None:
            by_row.setdefault(row, []).append(path)
    ids = list(by_row)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        alive = set(existing(chunk))
        removed += sum(remove(path) for row in chunk if row not in alive for path in by_row[row])
    return removed


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
