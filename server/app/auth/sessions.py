"""Dashboard session tokens: what the browser's cookie holds instead of the API key.

``vss_<key id>_<expiry, unix seconds>_<MAC>``, the MAC an HMAC-SHA256 keyed with the stored
digest of the key, over the key id and the expiry. Any server reading the same key table
verifies it without a session table; it dies with its key (revoked, expired) and at its
own expiry. A stolen cookie is a session for a few hours, never the key itself, and
cannot be stretched: changing the expiry breaks the MAC, which only the key's digest —
never sent to a browser — can make.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

PREFIX = "vss"
_TOKEN_RE = re.compile(r"^vss_([0-9a-f]{10})_([0-9]{1,12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class SessionToken:
    key_id: str
    expires_s: int
    mac: str


def issue(key_id: str, stored_digest: str, expires_s: int) -> str:
    return f"{PREFIX}_{key_id}_{expires_s}_{_mac(key_id, stored_digest, expires_s)}"


def parse(token: str) -> SessionToken | None:
    """The parts of a well-formed token, ``None`` for anything else (an API key, say)."""
    match = _TOKEN_RE.match(token)
    if match is None:
        return None
    return SessionToken(match.group(1), int(match.group(2)), match.group(3))


def verify(token: SessionToken, stored_digest: str) -> bool:
    expected = _mac(token.key_id, stored_digest, token.expires_s)
    return hmac.compare_digest(expected.encode("ascii"), token.mac.encode("ascii"))


def _mac(key_id: str, stored_digest: str, expires_s: int) -> str:
    message = f"visor-session|{key_id}|{expires_s}".encode("ascii")
    raw = hmac.new(stored_digest.encode("ascii"), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
