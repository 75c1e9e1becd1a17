"""The ``visor_api_keys`` table, in the shared database (:mod:`app.store`).

A key's secret is never stored: only its SHA-256 digest. Revoked keys keep their row (the
audit trail, and "revoked" is a clearer answer than "unknown"); a name is unique among the
keys that are not revoked. Quota columns are ``NULL`` when the key uses the settings'
defaults.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table, text

from app.store.columns import micros, row_id
from app.store.metadata import metadata

api_keys = Table(
    "visor_api_keys",
    metadata,
    row_id(),
    Column("name", String(100), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("digest", String(64), nullable=False),
    micros("created_us"),
    micros("expires_us", nullable=True),
    micros("revoked_us", nullable=True),
    micros("last_used_us", nullable=True),
    Column("rate_per_s", Float, nullable=True),
    Column("burst", Integer, nullable=True),
    Column("max_concurrent", Integer, nullable=True),
    Index(
        "ux_visor_api_keys_active_name",
        "name",
        unique=True,
        sqlite_where=text("revoked_us IS NULL"),
        postgresql_where=text("revoked_us IS NULL"),
    ),
)

#: The dashboard's sign-in sessions (:mod:`app.auth.sessions`): one row per signed-in
#: browser, keyed by the SHA-256 digest of its token (the token itself is only in the
#: cookie). Signing out deletes the row; revoking the key deletes all of its rows.
dashboard_sessions = Table(
    "visor_dashboard_sessions",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("key_id", String(32), nullable=False, index=True),
    micros("created_us"),
    micros("expires_us"),
)
