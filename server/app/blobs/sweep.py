"""What a crash leaves in a blob store: partial writes, and blobs whose row never came.

Every feature writes its blob first and its row second, so a crash can leave a blob
without a row, never a row without its blob. The rule is :mod:`app.store.leftovers`'
(which it reuses for the age limit), applied to any backend's :meth:`BlobStore.entries`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from app.blobs.base import BlobStore
from app.store import leftovers

_CHUNK = 500  # ids per existence query


def sweep(
    store: BlobStore,
    row_of: Callable[[str], str | None],
    existing: Callable[[list[str]], Collection[str]],
    *,
    older_than_s: float = leftovers.LEFTOVER_AGE_S,
) -> int:
    """Delete the blobs untouched for ``older_than_s`` that are partial or belong to a row
    that does not exist: ``row_of`` names a blob's row id (None: not a blob this feature
    wrote), ``existing`` says which of some ids have rows. Returns how many went."""
    removed = 0
    by_row: dict[str, list[str]] = {}
    for entry in store.entries(before=leftovers.cutoff(older_than_s)):
        if entry.partial:
            removed += store.delete(entry.key)
        elif (row := row_of(entry.key)) is not None:
            by_row.setdefault(row, []).append(entry.key)
    ids = list(by_row)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        alive = set(existing(chunk))
        gone = [key for row in chunk if row not in alive for key in by_row[row]]
        removed += sum(store.delete(key) for key in gone)
    return removed
