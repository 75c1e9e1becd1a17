"""Tables of app.sources: the sources, the webhooks, and the outbox of deliveries."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text, UniqueConstraint

from app.store.columns import id_ref, micros, row_id, stamps
from app.store.metadata import metadata

# A source the server pulls: its spec, the state it should be in, who runs it (and the
# lease they renew), its live stats and its error.
sources = Table(
    "visor_sources",
    metadata,
    row_id(),
    id_ref("owner"),  # the key that created it (NULL on an open server)
    Column("name", String(100), nullable=True),
    Column("spec", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("worker", String(100), nullable=True),
    micros("lease_until_us", nullable=True),
    Column("stats", Text, nullable=True),
    Column("error", Text, nullable=True),
    *stamps(),
)

# Where events go: a URL, its signing secret, and which events it wants.
webhooks = Table(
    "visor_webhooks",
    metadata,
    row_id(),
    id_ref("owner"),
    Column("url", Text, nullable=False),
    Column("secret", String(100), nullable=False),
    Column("events", Text, nullable=True),  # JSON list of event types; NULL: all
    Column("source_ids", Text, nullable=True),  # JSON list of source ids; NULL: all
    *stamps(),
)

# The outbox: one row per (webhook, event), written before any attempt, so a delivery
# survives a restart; delivered once, retried with backoff, or dead after the bound.
deliveries = Table(
    "visor_webhook_deliveries",
    metadata,
    row_id(),
    Column("webhook_id", String(32), nullable=False, index=True),
    Column("event_id", String(64), nullable=False),
    Column("event", Text, nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False),
    micros("next_us"),
    micros("lease_until_us", nullable=True),
    Column("last_error", Text, nullable=True),
    micros("delivered_us", nullable=True),
    *stamps(),
    UniqueConstraint("webhook_id", "event_id", name="ux_visor_webhook_deliveries_event"),
)
