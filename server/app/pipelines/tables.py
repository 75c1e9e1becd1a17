"""The ``visor_pipelines`` table: saved pipelines, in the shared database so that every
server of a cluster sees them (:class:`app.pipelines.store.PipelineStore`)."""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text

from app.store.columns import stamps
from app.store.metadata import metadata

pipelines = Table(
    "visor_pipelines",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("spec", Text, nullable=False),  # PipelineSpec JSON (app.pipelines.spec)
    *stamps(),
)
