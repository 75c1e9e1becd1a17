"""``image_path``: read a local file, only from under the directories an operator listed.

The check is made on the file actually opened: the path is resolved (``..`` and every
symlink) and the open descriptor's real path (``/proc/self/fd``) must still lie under a
root, so neither a symlink inside a root nor a swap between check and open escapes it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from app.plugins.base64_text import refuse
from app.units import human_bytes, limit_text

FIELD = "image_path"


class PathReader:
    def __init__(self, roots: Sequence[Path], *, max_bytes: int) -> None:
        # Roots are resolved once: a root that is itself a symlink means its target.
        self._roots = [Path(os.path.realpath(r)) for r in roots]
        self._max_bytes = max_bytes

    @property
    def enabled(self) -> bool:
        return bool(self._roots)

    def read(self, value: object) -> bytes:
        if not self._roots:
            raise refuse(
                FIELD, "inputs are disabled on this server (set VISOR_INPUT_ROOTS to allow them)"
            )
        if isinstance(value, str) and value.lower().startswith("file:"):
            value = _path_of_file_uri(value)
        if not isinstance(value, str) or not value or "\x00" in value:
            raise refuse(FIELD, "must be a non-empty path string")
        candidate = Path(value).expanduser()
        if not candidate.is_absolute():
            candidate = self._roots[0] / candidate  # relative paths are taken from the first root
        real = Path(os.path.realpath(candidate))
        if not self._inside(real):
            raise refuse(FIELD, "is outside the allowed input directories")
        try:
            fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
        except FileNotFoundError:
            raise refuse(FIELD, "does not exist") from None
        except OSError as exc:
            raise refuse(FIELD, f"cannot be read: {exc.strerror or 'error'}") from None
        try:
            opened = _opened_path(fd)
            if opened is not None and not self._inside(opened):
                raise refuse(FIELD, "is outside the allowed input directories")
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise refuse(FIELD, "is not a regular file")
            if info.st_size > self._max_bytes:
                raise refuse(
                    FIELD,
                    f"is {human_bytes(info.st_size)}; "
                    f"{limit_text(human_bytes(self._max_bytes), 'VISOR_MAX_IMAGE_BYTES')}",
                    limit_bytes=self._max_bytes,
                    setting="VISOR_MAX_IMAGE_BYTES",
                )
            with os.fdopen(os.dup(fd), "rb") as handle:
                data = handle.read(self._max_bytes + 1)
        finally:
            os.close(fd)
        if len(data) > self._max_bytes:  # it grew after the check
            raise refuse(FIELD, f"is over the limit of {self._max_bytes} bytes")
        return data

    def _inside(self, real: Path) -> bool:
        return any(real == root or real.is_relative_to(root) for root in self._roots)


def _path_of_file_uri(uri: str) -> str:
    """``file:///a/b%20c.png`` → ``/a/b c.png`` (what MCP roots and agents hand over)."""
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
        raise refuse(FIELD, "a file:// URI must name a local file (file:///path)")
    return unquote(parts.path)


def _opened_path(fd: int) -> Path | None:
    """Where the open descriptor really points (Linux); None where the OS cannot say."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return None
