"""Which browser origins may call Visor (``VISOR_ALLOWED_ORIGINS``), whatever the host.

Requests without ``Origin`` (curl, SDKs, agents) pass: the check stops web pages from
driving a server they happen to reach. A page may call its own server (same origin: the
``Origin`` names the ``Host`` the request was sent to, and — on a loopback-bound server —
that host is a loopback name, so DNS rebinding does not qualify). Any other origin must be
listed: ``https://app.example.com`` exactly, or ``http://localhost:*`` for any port.
CORS is enabled for exactly the listed origins, and off when none are listed.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import Scope

from app.auth.exposure import is_loopback

_ORIGIN = b"origin"
_HOST = b"host"


class OriginPolicy:
    def __init__(self, allowed: Sequence[str], *, loopback_bound: bool) -> None:
        self.allowed = [o.rstrip("/") for o in allowed]
        self._exact = frozenset(o for o in self.allowed if not o.endswith(":*"))
        self._prefixes = tuple(o[:-1] for o in self.allowed if o.endswith(":*"))
        self._loopback_bound = loopback_bound

    def allows_origin(self, origin: str, host: str | None) -> bool:
        if origin in self._exact or (self._prefixes and origin.startswith(self._prefixes)):
            return True
        _, sep, netloc = origin.partition("://")
        if not sep or host is None or netloc != host:
            return False
        return not self._loopback_bound or is_loopback(host.rsplit(":", 1)[0])

    def refuses(self, scope: Scope) -> str | None:
        """The refused origin, or ``None`` when the request may proceed."""
        origin = host = None
        for name, value in scope["headers"]:
            if name == _ORIGIN:
                origin = value.decode("latin-1")
            elif name == _HOST:
                host = value.decode("latin-1")
        if origin is None or self.allows_origin(origin, host):
            return None
        return origin
