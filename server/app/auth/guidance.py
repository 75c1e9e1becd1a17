"""What a refused caller reads: why this server wants a key, and how to get one.

Every 401 (REST, SSE, ``/mcp``, the dashboard) says the same three things — why a key is
needed (``VISOR_AUTH`` and whether keys exist), how to send one, and how an admin makes
one — so nobody is locked out of a server by a message that only says "required".
"""

from __future__ import annotations

from app.auth.exposure import AuthMode

SEND = "send one as 'Authorization: Bearer KEY' (the CLI and visor_client read VISOR_API_KEY)"
MAKE = "whoever runs the server makes one with 'visor keys create NAME --scope run'"
REOPEN = "to serve this machine without keys again, delete every key: 'visor keys delete --all'"


def why_keys(mode: AuthMode) -> str:
    if mode is AuthMode.REQUIRED:
        return "this server requires API keys (VISOR_AUTH=required)"
    return "this server has API keys (VISOR_AUTH=auto turns them on once the first key exists)"


def missing_key(mode: AuthMode) -> str:
    """The 401 for a request without a key."""
    message = f"an API key is required: {why_keys(mode)}; {SEND}; {MAKE}"
    return f"{message}; {REOPEN}" if mode is AuthMode.AUTO else message


def bad_key(refusal: str) -> str:
    """The 401 for a key that does not authenticate (wrong, revoked, expired); an ended
    dashboard session already says what to do (sign in again)."""
    if "session" in refusal:
        return refusal
    return f"{refusal}: {SEND}; {MAKE}"


#: ``details.hint`` of every 401: the short version for programs to show.
HINT = "set VISOR_API_KEY (or send Authorization: Bearer KEY) to a key from 'visor keys create'"
