"""Base64 text → bytes, as people and tools really write it, with errors that say why.

Accepted: plain base64, base64 wrapped at any width (the ``base64`` tool's 76 columns,
CRLF from Windows), a ``data:<type>;base64,`` URL, the URL-safe alphabet and missing
padding. Anything else is refused with the reason: a character outside the alphabet (and
a hint when the text looks like a file path or a URL), a truncated length, an empty value.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable

from app.plugins.base import InvalidInput

_DATA_URL = re.compile(r"data:(?P<mime>[^;,]*)(?P<params>(?:;[^;,]*)*),", re.IGNORECASE)
_WHITESPACE = str.maketrans("", "", " \t\r\n\f\v")
_SPACE = re.compile(r"[ \t\r\n\f\v]")
_URLSAFE = str.maketrans("-_", "+/")
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/=]")
_PATH_LIKE = re.compile(
    r"^(?:~|\.{1,2}[/\\]|/|[A-Za-z]:[/\\])|\.(?:png|jpe?g|gif|bmp|tiff?|webp|pdf|txt)$",
    re.IGNORECASE,
)


def refuse(field: str, reason: str, **details: object) -> InvalidInput:
    """The one shape of an input refusal: a ValidationError naming the field and the reason."""
    return InvalidInput(f"{field} {reason}", details={"field": field, "reason": reason, **details})


def hint_for(text: object) -> str | None:
    """What the caller probably meant when ``text`` is not base64 at all."""
    if not isinstance(text, str):
        return None
    head = text.strip()[:300]
    if head.lower().startswith(("http://", "https://")):
        return "it looks like a URL: pass it as image_url"
    if _PATH_LIKE.search(head):
        return (
            "it looks like a file path: upload the file (POST /v1/files, then image_ref) "
            "or pass image_path (a directory listed in VISOR_INPUT_ROOTS)"
        )
    return None


def split_data_url(text: str, field: str) -> tuple[str, str | None]:
    """``(base64 part, declared mime type or None)``; plain text passes through."""
    if text[:5].lower() != "data:":
        return text, None
    match = _DATA_URL.match(text, 0, 1024)
    if match is None:
        raise refuse(field, "is a malformed data: URL (expected data:<type>;base64,<data>)")
    if ";base64" not in match["params"].lower():
        raise refuse(field, "is a data: URL that is not base64 (only ;base64 data URLs work)")
    return text[match.end() :], (match["mime"].strip() or None)


def decode_canonical(text: object) -> bytes | None:
    """The fast path: ``text`` is plain, padded, unwrapped base64 (what most clients send).
    None when it is anything else (then :func:`decode_base64_text` cleans and explains)."""
    if not isinstance(text, str) or not text or len(text) % 4 or text[:5].lower() == "data:":
        return None
    try:
        return strict_decode(text)
    except (binascii.Error, ValueError):
        return None


def strict_decode(text: str) -> bytes:
    """Strict base64 decoding, fast: ``binascii.a2b_base64(text, strict_mode=True)``'s answer.

    pybase64's SIMD decoder reads a photo's base64 (~370 KB) in tens of microseconds where
    binascii took about a millisecond — on the server (checking and sniffing the input) and
    again in the worker (the tool decoding it), so the cost grew with the payload. Whatever
    pybase64 accepts binascii decodes to the same bytes; what it refuses (binascii is a
    little laxer about excess padding) goes to binascii, so answers do not change.
    """
    if _FAST_DECODE is not None:
        try:
            return _FAST_DECODE(text)
        except (binascii.Error, ValueError):
            pass
    return binascii.a2b_base64(text, strict_mode=True)


def _fast_codec() -> tuple[Callable[[str], bytes] | None, Callable[[bytes], bytes]]:
    """pybase64's decoder and encoder; binascii's where pybase64 is not installed (an
    environment set up before it became a dependency)."""
    try:
        import pybase64
    except ImportError:
        return None, lambda data: binascii.b2a_base64(data, newline=False)

    def decode(text: str) -> bytes:
        return pybase64.b64decode(text, validate=True)

    return decode, pybase64.b64encode


_FAST_DECODE, encode_base64 = _fast_codec()


def decode_base64_text(text: object, field: str = "image") -> tuple[bytes, str | None]:
    """Decode ``text``; returns ``(bytes, mime type declared by a data: URL or None)``."""
    canonical = decode_canonical(text)
    if canonical is not None:
        return canonical, None
    if not isinstance(text, str):
        raise refuse(field, f"must be a base64 string, not {type(text).__name__}")
    body, declared = split_data_url(text, field)
    if _SPACE.search(body):
        body = body.translate(_WHITESPACE)
    if not body:
        raise refuse(field, "is empty")
    if "-" in body or "_" in body:
        body = body.translate(_URLSAFE)
    stripped = body.rstrip("=")
    if len(stripped) % 4 != 1:
        try:
            return strict_decode(stripped + "=" * (-len(stripped) % 4)), declared
        except (binascii.Error, ValueError):
            pass
    raise _why_not(text, body, field)


def _why_not(original: str, body: str, field: str) -> InvalidInput:
    """The precise reason ``body`` (cleaned of whitespace and prefix) does not decode."""
    bad = _NOT_BASE64.search(body)
    if bad is not None:
        hint = hint_for(original)
        reason = f"is not base64: it contains {bad.group()!r}, which base64 never does"
        if hint:
            reason = f"{reason}; {hint}"
        return refuse(field, reason, **({"hint": hint} if hint else {}))
    if len(body.rstrip("=")) % 4 == 1:
        return refuse(field, "is not valid base64: its length is impossible (truncated?)")
    return refuse(field, "is not valid base64: '=' padding in the middle of the data")
