"""Webhook signatures, as the Standard Webhooks specification writes them.

Each delivery carries ``webhook-id`` (the event id: the same on every retry, so a
receiver can drop a duplicate), ``webhook-timestamp`` (Unix seconds of this attempt) and
``webhook-signature: v1,<base64 HMAC-SHA256>`` over ``"{id}.{timestamp}.{body}"`` with
the webhook's secret (``whsec_<base64>``). A receiver recomputes it, compares in constant
time, and refuses timestamps far from its clock (a replayed old delivery).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
TOLERANCE_S = 300


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value."""
    message = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(
    secret: str, headers: dict[str, str], body: bytes, *, now: float, tolerance_s: int = TOLERANCE_S
) -> bool:
    """Whether ``headers`` carry a valid, recent signature of ``body`` (for receivers)."""
    try:
        event_id = headers["webhook-id"]
        timestamp = int(headers["webhook-timestamp"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = sign(secret, event_id, timestamp, body).encode()
    return any(
        hmac.compare_digest(expected, given.encode())
        for given in headers.get("webhook-signature", "").split()
    )
