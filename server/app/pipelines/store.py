"""Saved pipelines, in the job store's database (so every server of a cluster sees them)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import Engine, delete, insert, select, update

from app.errors import ErrorCode, VisorError
from app.pipelines.spec import PipelineSpec
from app.pipelines.tables import pipelines
from app.store.clock import now_us
from app.store.engine import WRITE


class SavedPipeline(BaseModel):
    name: str
    spec: PipelineSpec
    created_at: str
    updated_at: str


class PipelineStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def save(self, spec: PipelineSpec) -> tuple[SavedPipeline, bool]:
        """Create or replace the pipeline named by ``spec.name``; True when it is new."""
        assert spec.name is not None, "a saved pipeline has a name"
        stamp = now_us()
        text = spec.model_dump_json()
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            changed = conn.execute(
                update(pipelines)
                .where(pipelines.c.name == spec.name)
                .values(spec=text, updated_us=stamp)
            ).rowcount
            if not changed:
                conn.execute(
                    insert(pipelines),
                    {"name": spec.name, "spec": text, "created_us": stamp, "updated_us": stamp},
                )
        return self.get(spec.name), not changed

    def get(self, name: str) -> SavedPipeline:
        with self._engine.connect() as conn:
            row = conn.execute(select(pipelines).where(pipelines.c.name == name)).first()
        if row is None:
            raise VisorError(f"pipeline {name!r} does not exist", code=ErrorCode.NOT_FOUND)
        return _saved(row)

    def list(self) -> list[SavedPipeline]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(pipelines).order_by(pipelines.c.name)).all()
        return [_saved(row) for row in rows]

    def delete(self, name: str) -> SavedPipeline:
        saved = self.get(name)
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(delete(pipelines).where(pipelines.c.name == name))
        return saved


def _saved(row: object) -> SavedPipeline:
    mapping = row._mapping  # type: ignore[attr-defined]
    return SavedPipeline(
        name=mapping["name"],
        spec=PipelineSpec.model_validate_json(mapping["spec"]),
        created_at=_iso(mapping["created_us"]),
        updated_at=_iso(mapping["updated_us"]),
    )


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1_000_000, UTC).isoformat().replace("+00:00", "Z")
