"""The key format and the key shapes clients see.

A key is ``vsr_<id>_<secret>``: ``id`` is 10 hex characters, public (logs, metrics and
``visor keys list`` name a key by it), ``secret`` is 256 random bits (URL-safe base64). Only
the SHA-256 digest of the whole key is stored; with 256 random bits a slow password hash
would add cost and no safety. Digests are compared with :func:`hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from pydantic import BaseModel, ConfigDict, Field

from app.auth.scopes import Scope

PREFIX = "vsr"
_ID_HEX = 10
_KEY_RE = re.compile(r"^vsr_([0-9a-f]{10})_([A-Za-z0-9_-]{43})$")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


def generate() -> tuple[str, str]:
    """A new ``(key_id, full_key)``."""
    key_id = secrets.token_hex(_ID_HEX // 2)
    return key_id, f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


def key_id_of(key: str) -> str | None:
    """The public id of a well-formed key, ``None`` for anything else."""
    match = _KEY_RE.match(key)
    return match.group(1) if match else None


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def matches(key: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(key).encode("ascii"), stored_digest.encode("ascii"))


class Quotas(BaseModel):
    """Per-key overrides of the settings' defaults (``None``: use the default)."""

    rate_per_s: float | None = Field(default=None, gt=0, description="Sustained requests/s.")
    burst: int | None = Field(default=None, ge=1, description="Requests allowed at once.")
    max_concurrent: int | None = Field(
        default=None, ge=1, description="Tool calls running at once."
    )


class ApiKey(Quotas):
    """A key as ``visor keys list`` and ``GET /v1/keys`` show it: never the secret."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Public key id (the part after 'vsr_').")
    name: str
    scope: Scope
    created_at: str = Field(description="ISO-8601 UTC.")
    expires_at: str | None = Field(default=None, description="ISO-8601 UTC; null: never.")
    revoked_at: str | None = Field(default=None, description="ISO-8601 UTC; null: active.")
    last_used_at: str | None = Field(
        default=None, description="ISO-8601 UTC, written in batches (may lag by seconds)."
    )


#: The longest lifetime a key may be given (100 years): keeps its expiry a storable instant.
MAX_EXPIRES_DAYS = 36_500


class KeyCreate(Quotas):
    """``POST /v1/keys``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="Unique among active keys.")
    scope: Scope
    expires_days: float | None = Field(
        default=None,
        gt=0,
        le=MAX_EXPIRES_DAYS,
        description="Days until the key expires (at most 100 years). Null: never expires.",
    )


class KeyCreated(BaseModel):
    """The answer to a create: the only time the secret is ever shown."""

    key: ApiKey
    secret: str = Field(description="The full key; store it now, it cannot be shown again.")


class KeyList(BaseModel):
    keys: list[ApiKey]
