"""Webhooks and their outbox: every event is written, per webhook, before it is sent.

An event (a source's line crossing, a job's end …) becomes one ``visor_webhook_deliveries``
row per webhook that wants it, in one transaction, keyed by ``(webhook, event id)``: the
same event enqueued twice (two servers hearing of one job) is stored once. The deliverer
(:mod:`app.sources.delivery`) claims due rows with a lease, sends them, and records the
outcome: ``delivered`` (never sent again), ``pending`` with the next attempt's time, or
``dead`` once the attempts are spent (the dead letter, kept with its last error).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Engine, and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.errors import ErrorCode, VisorError
from app.sources.signing import new_secret
from app.sources.tables import deliveries, webhooks
from app.store.clock import iso_from_micros, now_us
from app.store.engine import WRITE
from app.store.ids import new_id

#: Event types a webhook may ask for.
EVENT_TYPES = frozenset(
    {
        "job.succeeded",
        "job.failed",
        "job.cancelled",
        "source.failed",
        "source.stopped",
        "line_crossed",
        "zone_entered",
        "zone_left",
        "value_seen",
    }
)


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    DEAD = "dead"


class WebhookRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="http(s) URL the events are POSTed to.")
    events: list[str] | None = Field(default=None, description="Event types to send (all if null).")
    sources: list[str] | None = Field(default=None, description="Only these sources' events.")

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.lower().startswith(("http://", "https://")):
            raise ValueError("a webhook URL is http:// or https://")
        return value

    @field_validator("events")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        unknown = sorted(set(value or ()) - EVENT_TYPES)
        if unknown:
            raise ValueError(f"unknown event types {unknown}; known: {sorted(EVENT_TYPES)}")
        return value


class Webhook(BaseModel):
    id: str
    url: str
    events: list[str] | None
    sources: list[str] | None
    created_at: str
    secret: str | None = Field(default=None, description="Shown once, when the webhook is created.")


class Delivery(BaseModel):
    id: str
    webhook_id: str
    event_id: str
    event: dict[str, Any]
    state: DeliveryState
    attempts: int
    next_attempt_at: str | None
    last_error: str | None
    delivered_at: str | None


class Claimed(BaseModel):
    id: str
    event_id: str
    body: bytes
    attempts: int
    url: str
    secret: str


def _webhook(row: Any, *, secret: bool = False) -> Webhook:
    return Webhook(
        id=row["id"],
        url=row["url"],
        events=orjson.loads(row["events"]) if row["events"] else None,
        sources=orjson.loads(row["source_ids"]) if row["source_ids"] else None,
        created_at=iso_from_micros(row["created_us"]) or "",
        secret=row["secret"] if secret else None,
    )


def _delivery(row: Any) -> Delivery:
    state = DeliveryState(row["state"])
    return Delivery(
        id=row["id"],
        webhook_id=row["webhook_id"],
        event_id=row["event_id"],
        event=orjson.loads(row["event"]),
        state=state,
        attempts=row["attempts"],
        next_attempt_at=iso_from_micros(row["next_us"]) if state is DeliveryState.PENDING else None,
        last_error=row["last_error"],
        delivered_at=iso_from_micros(row["delivered_us"]),
    )


class Outbox:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- webhooks ---------------------------------------------------------------------------

    def create(self, request: WebhookRequest, owner: str | None) -> Webhook:
        now = now_us()
        row = {
            "id": new_id(),
            "owner": owner,
            "url": request.url,
            "secret": new_secret(),
            "events": orjson.dumps(request.events).decode() if request.events else None,
            "source_ids": orjson.dumps(request.sources).decode() if request.sources else None,
            "created_us": now,
            "updated_us": now,
        }
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(insert(webhooks), row)
        return _webhook(row, secret=True)

    def webhooks(self, owner: str | None = None) -> list[Webhook]:
        stmt = select(webhooks).order_by(webhooks.c.created_us)
        if owner is not None:
            stmt = stmt.where(webhooks.c.owner == owner)
        with self._engine.connect() as conn:
            return [_webhook(r) for r in conn.execute(stmt).mappings().all()]

    def get(self, webhook_id: str, owner: str | None = None) -> Webhook:
        stmt = select(webhooks).where(webhooks.c.id == webhook_id)
        if owner is not None:
            stmt = stmt.where(webhooks.c.owner == owner)
        with self._engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        if row is None:
            raise VisorError(
                f"webhook {webhook_id!r} not found",
                code=ErrorCode.NOT_FOUND,
                details={"webhook": webhook_id},
            )
        return _webhook(row)

    def delete(self, webhook_id: str, owner: str | None = None) -> None:
        self.get(webhook_id, owner)
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(delete(deliveries).where(deliveries.c.webhook_id == webhook_id))
            conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id))

    def deliveries(self, webhook_id: str, limit: int = 100) -> list[Delivery]:
        stmt = (
            select(deliveries)
            .where(deliveries.c.webhook_id == webhook_id)
            .order_by(deliveries.c.created_us.desc())
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [_delivery(r) for r in conn.execute(stmt).mappings().all()]

    # -- events -----------------------------------------------------------------------------

    def enqueue(self, event: dict[str, Any], owner: str | None, source_id: str | None) -> int:
        """One delivery per webhook that wants ``event`` (its ``id`` and ``type``):
        webhooks of the same owner (every webhook on an open server); returns how many."""
        stmt = select(webhooks)
        if owner is not None:
            stmt = stmt.where(or_(webhooks.c.owner == owner, webhooks.c.owner.is_(None)))
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        wanted = [
            r
            for r in rows
            if (not r["events"] or event["type"] in orjson.loads(r["events"]))
            and (not r["source_ids"] or source_id in orjson.loads(r["source_ids"]))
        ]
        if not wanted:
            return 0
        now = now_us()
        body = orjson.dumps(event).decode()
        stored = 0
        for hook in wanted:
            row = {
                "id": new_id(),
                "webhook_id": hook["id"],
                "event_id": event["id"],
                "event": body,
                "state": DeliveryState.PENDING.value,
                "attempts": 0,
                "next_us": now,
                "lease_until_us": None,
                "last_error": None,
                "delivered_us": None,
                "created_us": now,
                "updated_us": now,
            }
            try:
                with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
                    conn.execute(insert(deliveries), row)
                stored += 1
            except IntegrityError:
                continue  # this event is already in this webhook's outbox
        return stored

    # -- the deliverer's side ---------------------------------------------------------------

    def claim_due(self, lease_s: float, limit: int = 20) -> list[Claimed]:
        """Due deliveries, each taken with a lease (one UPDATE each: one sender wins);
        a ``sending`` row whose sender died is due again when its lease runs out."""
        now = now_us()
        due = or_(
            and_(deliveries.c.state == DeliveryState.PENDING.value, deliveries.c.next_us <= now),
            and_(
                deliveries.c.state == DeliveryState.SENDING.value,
                deliveries.c.lease_until_us < now,
            ),
        )
        stmt = (
            select(deliveries, webhooks.c.url, webhooks.c.secret)
            .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
            .where(due)
            .order_by(deliveries.c.next_us)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        claimed = []
        for row in rows:
            take = (
                update(deliveries)
                .where(deliveries.c.id == row["id"], due)
                .values(
                    state=DeliveryState.SENDING.value,
                    attempts=deliveries.c.attempts + 1,
                    lease_until_us=now + int(lease_s * 1e6),
                    updated_us=now,
                )
            )
            with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
                if not conn.execute(take).rowcount:
                    continue
            claimed.append(
                Claimed(
                    id=row["id"],
                    event_id=row["event_id"],
                    body=row["event"].encode(),
                    attempts=row["attempts"] + 1,
                    url=row["url"],
                    secret=row["secret"],
                )
            )
        return claimed

    def delivered(self, delivery_id: str) -> None:
        self._finish(delivery_id, state=DeliveryState.DELIVERED, delivered_us=now_us())

    def failed(self, delivery_id: str, error: str, *, retry_at_us: int | None) -> None:
        """Record a failed attempt: try again at ``retry_at_us``, or dead (``None``)."""
        if retry_at_us is None:
            self._finish(delivery_id, state=DeliveryState.DEAD, last_error=error[:500])
        else:
            self._finish(
                delivery_id,
                state=DeliveryState.PENDING,
                last_error=error[:500],
                next_us=retry_at_us,
            )

    def _finish(self, delivery_id: str, *, state: DeliveryState, **values: Any) -> None:
        stmt = (
            update(deliveries)
            .where(
                deliveries.c.id == delivery_id, deliveries.c.state == DeliveryState.SENDING.value
            )
            .values(state=state.value, lease_until_us=None, updated_us=now_us(), **values)
        )
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(stmt)
