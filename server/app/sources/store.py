"""SourceStore: the rows of sources, and the lease that says which server runs each.

A running source is run by one server at a time: the one whose ``worker`` is on the row
with a ``lease_until_us`` in the future. Servers renew their leases while they run
sources; a server that dies (``kill -9``) stops renewing, and when the lease runs out any
server claims the source and resumes it. State changes (pause, stop) are written to the
row by whichever server the request reached; the running server reads them at its next
renewal and stops.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Engine, and_, func, insert, or_, select, update

from app.errors import ErrorCode, VisorError
from app.sources.models import Source, SourceState, SourceStats
from app.sources.tables import sources
from app.store.clock import iso_from_micros, now_us
from app.store.engine import WRITE
from app.store.ids import new_id


def _source(row: Any) -> Source:
    return Source(
        id=row["id"],
        name=row["name"],
        owner=row["owner"],
        state=SourceState(row["state"]),
        spec=orjson.loads(row["spec"]),
        stats=SourceStats.model_validate(orjson.loads(row["stats"]))
        if row["stats"]
        else SourceStats.model_validate({}),
        error=orjson.loads(row["error"]) if row["error"] else None,
        worker=row["worker"] if row["state"] == SourceState.RUNNING.value else None,
        created_at=iso_from_micros(row["created_us"]) or "",
        updated_at=iso_from_micros(row["updated_us"]) or "",
    )


def not_found(source_id: str) -> VisorError:
    return VisorError(
        f"source {source_id!r} not found", code=ErrorCode.NOT_FOUND, details={"source": source_id}
    )


class SourceStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    def create(self, spec: dict[str, Any], name: str | None, owner: str | None) -> Source:
        now = now_us()
        row = {
            "id": new_id(),
            "owner": owner,
            "name": name,
            "spec": orjson.dumps(spec).decode(),
            "state": SourceState.RUNNING.value,
            "worker": None,
            "lease_until_us": None,
            "stats": None,
            "error": None,
            "created_us": now,
            "updated_us": now,
        }
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(insert(sources), row)
        return _source(row)

    def get(self, source_id: str, owner: str | None = None) -> Source:
        """The source, or 404 (also when ``owner`` is given and is not its owner)."""
        stmt = select(sources).where(sources.c.id == source_id)
        if owner is not None:
            stmt = stmt.where(sources.c.owner == owner)
        with self._engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        if row is None:
            raise not_found(source_id)
        return _source(row)

    def all(self, owner: str | None = None) -> list[Source]:
        stmt = select(sources).order_by(sources.c.created_us)
        if owner is not None:
            stmt = stmt.where(sources.c.owner == owner)
        with self._engine.connect() as conn:
            return [_source(r) for r in conn.execute(stmt).mappings().all()]

    def count_running(self, owner: str | None = None) -> int:
        stmt = select(func.count()).where(sources.c.state == SourceState.RUNNING.value)
        if owner is not None:
            stmt = stmt.where(sources.c.owner == owner)
        with self._engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def set_state(
        self,
        source_id: str,
        state: SourceState,
        *,
        owner: str | None = None,
        error: dict[str, Any] | None = None,
        only_from: set[SourceState] | None = None,
    ) -> bool:
        """Change the wanted state (the running server follows); False if not from
        ``only_from``. Leaving ``running`` drops the lease."""
        values: dict[str, Any] = {"state": state.value, "updated_us": now_us()}
        if state is not SourceState.RUNNING:
            values |= {"worker": None, "lease_until_us": None}
        if error is not None:
            values["error"] = orjson.dumps(error).decode()
        elif state is SourceState.RUNNING:
            values["error"] = None
        stmt = update(sources).where(sources.c.id == source_id).values(**values)
        if owner is not None:
            stmt = stmt.where(sources.c.owner == owner)
        if only_from is not None:
            stmt = stmt.where(sources.c.state.in_([s.value for s in only_from]))
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            return bool(conn.execute(stmt).rowcount)

    # -- the running side -------------------------------------------------------------------

    def claim(self, worker: str, lease_s: float, limit: int) -> list[Source]:
        """Take up to ``limit`` running sources nobody holds (never held, or their lease
        ran out) for ``worker``; one UPDATE per source, so two servers never both win."""
        now = now_us()
        free = and_(
            sources.c.state == SourceState.RUNNING.value,
            or_(sources.c.worker.is_(None), sources.c.lease_until_us < now),
        )
        with self._engine.connect() as conn:
            ids = [r[0] for r in conn.execute(select(sources.c.id).where(free).limit(limit))]
        won = []
        for source_id in ids:
            stmt = (
                update(sources)
                .where(sources.c.id == source_id, free)
                .values(worker=worker, lease_until_us=now + int(lease_s * 1e6))
            )
            with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
                if conn.execute(stmt).rowcount:
                    won.append(source_id)
        return [self.get(i) for i in won]

    def renew(self, worker: str, ids: list[str], lease_s: float) -> set[str]:
        """Extend ``worker``'s leases; the ids it still holds in ``running`` (a source
        paused, stopped or taken over is missing: its run must end)."""
        if not ids:
            return set()
        mine = and_(
            sources.c.id.in_(ids),
            sources.c.worker == worker,
            sources.c.state == SourceState.RUNNING.value,
        )
        until = now_us() + int(lease_s * 1e6)
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(update(sources).where(mine).values(lease_until_us=until))
            return {r[0] for r in conn.execute(select(sources.c.id).where(mine))}

    def release(self, worker: str, source_id: str) -> None:
        """Give the source back (a graceful stop): another server may take it at once."""
        stmt = (
            update(sources)
            .where(sources.c.id == source_id, sources.c.worker == worker)
            .values(worker=None, lease_until_us=None)
        )
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(stmt)

    def save_stats(self, worker: str, source_id: str, stats: SourceStats) -> None:
        stmt = (
            update(sources)
            .where(sources.c.id == source_id, sources.c.worker == worker)
            .values(stats=orjson.dumps(stats.model_dump(mode="json")).decode(), updated_us=now_us())
        )
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(stmt)

    def fail(self, worker: str, source_id: str, error: dict[str, Any]) -> None:
        """The run cannot go on (bad URL, refused key, target gone): FAILED with the error."""
        stmt = (
            update(sources)
            .where(sources.c.id == source_id, sources.c.worker == worker)
            .values(
                state=SourceState.FAILED.value,
                error=orjson.dumps(error).decode(),
                worker=None,
                lease_until_us=None,
                updated_us=now_us(),
            )
        )
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(stmt)

    def finish(self, worker: str, source_id: str) -> None:
        """A file source without ``loop`` reached its end: STOPPED."""
        stmt = (
            update(sources)
            .where(sources.c.id == source_id, sources.c.worker == worker)
            .values(state=SourceState.STOPPED.value, worker=None, lease_until_us=None,
                    updated_us=now_us())
        )  # fmt: skip
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(stmt)
