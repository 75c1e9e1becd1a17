"""Tool results within an agent's token budget, and the rest on request.

Agent hosts cap what one tool call may put in the model's context (Claude Code: 25k
tokens by default). A dense page's OCR is three times that. Refusing it (the byte cap)
helps nobody; dumping it floods the context. So the MCP door *fits* a result to
``VISOR_MCP_MAX_RESULT_TOKENS``: the largest arrays (then strings) are cut to what fits —
the result keeps its shape, so it still matches the tool's output schema — and the answer
says what was cut and how to get the rest: the ``results.page`` tool (items or characters
from an offset, each page within the same budget) or the resource ``visor://results/<id>``
(the whole result, for hosts that read resources).

Tokens are estimated from JSON characters (:data:`CHARS_PER_TOKEN`, measured with the
o200k tokenizer on detection and OCR results, rounded down so the estimate errs high).
Full results are kept in memory for :data:`KEEP_S`, per caller (API key), bounded in total
— so a continuation must reach the same replica (docs/mcp.md).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

#: JSON characters per o200k token, on the dense results this is for (numbers, boxes).
CHARS_PER_TOKEN = 2.5
#: How long a cut result's rest stays available, and how much of them is kept at most.
KEEP_S = 15 * 60
KEEP_BYTES = 64 * 1024 * 1024

URI_PREFIX = "visor://results/"
PAGE_TOOL = ("results", "page")

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Cut:
    """One array or string the fitted result holds only the start of."""

    path: Path
    kept: int
    total: int
    unit: str  # "items" (an array) or "characters" (a string)

    @property
    def pointer(self) -> str:
        return pointer(self.path)


@dataclass
class _Kept:
    owner: str | None
    result: dict[str, Any]
    size: int
    expires: float


class ResultBudget:
    """Fits results to the door's token budget and keeps the rest for paging."""

    def __init__(self, max_tokens: int) -> None:
        self.max_tokens = max_tokens
        self._limit = int(max_tokens * CHARS_PER_TOKEN)
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._kept_bytes = 0
        self._lock = threading.Lock()

    # -- fitting ----------------------------------------------------------------------------

    def fit(self, result: dict[str, Any]) -> tuple[dict[str, Any], list[Cut]]:
        """``(result within the budget, what was cut)``; the result itself when it fits."""
        return fit(result, self._limit)

    # -- keeping the rest -------------------------------------------------------------------

    def keep(self, result: dict[str, Any], owner: str | None) -> str:
        """Keep ``result`` for paging; returns its id."""
        size = len(orjson.dumps(result))
        result_id = "r_" + secrets.token_hex(12)
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            while self._kept and self._kept_bytes + size > KEEP_BYTES:
                _, oldest = self._kept.popitem(last=False)
                self._kept_bytes -= oldest.size
            self._kept[result_id] = _Kept(owner, result, size, now + KEEP_S)
            self._kept_bytes += size
        return result_id

    def get(self, result_id: str, owner: str | None) -> dict[str, Any] | None:
        """A kept result of ``owner``; None when unknown, expired or someone else's."""
        with self._lock:
            self._expire(time.monotonic())
            kept = self._kept.get(result_id)
        if kept is None or kept.owner != owner:
            return None
        return kept.result

    def page(self, result: dict[str, Any], path: Path, offset: int) -> dict[str, Any]:
        """Items (or characters) of the array (or string) at ``path`` from ``offset``, as
        many as fit the budget; raises LookupError/TypeError for a bad path."""
        value = _at(result, path)
        part: list[Any] | str
        if isinstance(value, list):
            chunk = _prefix(value[offset:], self._limit - 200)
            key, part = "items", value[offset : offset + chunk]
        elif isinstance(value, str):
            chunk = _text_prefix(value[offset:], self._limit - 200)
            key, part = "text", value[offset : offset + chunk]
        else:
            raise TypeError("only an array or a string can be paged")
        end = offset + chunk
        return {
            "path": pointer(path),
            "offset": offset,
            "total": len(value),
            key: part,
            "next_offset": end if end < len(value) else None,
        }

    def _expire(self, now: float) -> None:
        while self._kept:
            result_id, oldest = next(iter(self._kept.items()))
            if oldest.expires > now:
                return
            del self._kept[result_id]
            self._kept_bytes -= oldest.size


def fit(result: dict[str, Any], limit: int) -> tuple[dict[str, Any], list[Cut]]:
    """Cut the largest arrays and strings of ``result`` until its JSON is ``limit`` chars."""
    size = len(orjson.dumps(result))
    if size <= limit:
        return result, []
    fitted: Any = _copy_containers(result)
    cuts: dict[Path, Cut] = {}
    while size > limit:
        candidates = [
            (len(orjson.dumps(value)), path, value)
            for path, value in _cuttable(fitted, ())
            if (isinstance(value, list) and value) or (isinstance(value, str) and value)
        ]
        if not candidates:
            break
        largest, path, value = max(candidates, key=lambda c: c[0])
        room = max(0, largest - (size - limit) - 2)
        if isinstance(value, list):
            kept = min(_prefix(value, room), len(value) - 1)
        else:
            kept = min(_text_prefix(value, room), len(value) - 1)
        total = cuts[path].total if path in cuts else len(value)
        _set(fitted, path, value[:kept])
        cuts[path] = Cut(path, kept, total, "items" if isinstance(value, list) else "characters")
        size = len(orjson.dumps(fitted))
    return fitted, sorted(cuts.values(), key=lambda c: c.path)


def describe(cuts: list[Cut], result_id: str, max_tokens: int, page_tool: str) -> str:
    """What an agent is told about a fitted result: what is missing and how to get it."""
    missing = "; ".join(f"{c.pointer} holds {c.kept} of {c.total} {c.unit}" for c in cuts)
    first = cuts[0]
    call = orjson.dumps({"result": result_id, "path": first.pointer, "offset": first.kept})
    return (
        f"This result was cut to fit {max_tokens} tokens: {missing}. For the rest call "
        f"{page_tool} with {call.decode()} (then with its next_offset), or read the "
        f"resource {URI_PREFIX}{result_id} (the whole result)."
    )


def pointer(path: Path) -> str:
    """A JSON Pointer (RFC 6901): ``("words",)`` → ``/words``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def parse_pointer(text: str) -> Path:
    if text and not text.startswith("/"):
        raise ValueError("a path is a JSON Pointer such as /words")
    parts = [p.replace("~1", "/").replace("~0", "~") for p in text.split("/")[1:]]
    return tuple(int(p) if p.isdigit() else p for p in parts)


def _cuttable(node: Any, path: Path, depth: int = 0) -> list[tuple[Path, Any]]:
    """Arrays and strings a result may be cut in: under objects, up to three levels deep
    (a list's items are not cut into: a page is a run of whole items)."""
    found: list[tuple[Path, Any]] = []
    if not isinstance(node, dict) or depth > 3:
        return found
    for key, value in node.items():
        if isinstance(value, (list, str)):
            found.append(((*path, key), value))
        elif isinstance(value, dict):
            found += _cuttable(value, (*path, key), depth + 1)
    return found


def _copy_containers(node: Any) -> Any:
    """Copies of the dicts (values are replaced in place when cut; lists are sliced)."""
    if isinstance(node, dict):
        return {k: _copy_containers(v) for k, v in node.items()}
    return node


def _at(node: Any, path: Path) -> Any:
    for part in path:
        node = node[part]
    return node


def _set(node: Any, path: Path, value: Any) -> None:
    _at(node, path[:-1])[path[-1]] = value


def _prefix(items: list[Any], room: int) -> int:
    """How many leading items fit in ``room`` JSON characters (with brackets, commas)."""
    used = 2
    for count, item in enumerate(items):
        used += len(orjson.dumps(item)) + (1 if count else 0)
        if used > room:
            return count
    return len(items)


def _text_prefix(text: str, room: int) -> int:
    """How many leading characters of ``text`` fit in ``room`` JSON characters."""
    if len(orjson.dumps(text)) <= room:
        return len(text)
    low, high = 0, min(len(text), max(0, room))
    while low < high:  # escapes make JSON longer than the text: search the cut
        middle = (low + high + 1) // 2
        if len(orjson.dumps(text[:middle])) <= room:
            low = middle
        else:
            high = middle - 1
    return low
