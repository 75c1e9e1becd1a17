"""Column helpers for the kinds of column every feature's tables share.

Ids are uuid4 hex (:mod:`app.store.ids`, ``String(32)``); times are epoch microseconds
(:mod:`app.store.clock`, ``BIGINT``, named ``*_us``). One helper per kind keeps the
types identical across tables, which the migrations and the schema test rely on.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String


def row_id(name: str = "id") -> Column[str]:
    """The table's primary key: a row id."""
    return Column(name, String(32), primary_key=True)


def id_ref(name: str) -> Column[str]:
    """The id of another row (a job, a key, a worker), or NULL."""
    return Column(name, String(32), nullable=True)


def micros(name: str, *, nullable: bool = False) -> Column[int]:
    """A moment in epoch microseconds."""
    return Column(name, BigInteger, nullable=nullable)


def stamps() -> tuple[Column[int], Column[int]]:
    """``created_us`` and ``updated_us``, both required."""
    return micros("created_us"), micros("updated_us")
