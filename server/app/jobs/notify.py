"""Wake-ups between servers that share a PostgreSQL job store (LISTEN/NOTIFY).

Servers on one database announce two things on the channel ``visor_jobs``:

- **claimable work**: a job was submitted (or requeued) on a server whose own slots are
  all busy, so a free dispatcher elsewhere claims it at once instead of at its next poll;
- **changed jobs** (status or progress, with their ids): a server streaming a job's events
  to a client, or running a job that another server just cancelled, re-reads it at once.

Announcements are coalesced by one sender thread (a burst of submits costs a few NOTIFY
statements, not one each) and sent after the change is committed, so a listener always
finds what it is told about. Delivery is best effort: the dispatcher's idle poll and the
event stream's re-read stay as the fallback, so a lost notification costs latency, never
a job. SQLite (one server per file) uses :class:`NullNotifier`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

import orjson
from sqlalchemy import Engine, text

log = logging.getLogger("visor.jobs")

CHANNEL = "visor_jobs"
_MAX_IDS = 180  # ~33 bytes each: one payload stays under PostgreSQL's 8000-byte limit
_RETRY_S = 1.0
_LISTEN_SLICE_S = 0.5

PendingListener = Callable[[], None]
ChangedListener = Callable[[list[str], list[str]], None]  # (status ids, progress ids)


class JobNotifier(Protocol):
    def start(self, on_pending: PendingListener, on_changed: ChangedListener) -> None: ...

    def announce_pending(self) -> None: ...

    def announce_changed(self, job_id: str, *, progress: bool = False) -> None: ...

    def stop(self) -> None: ...


class NullNotifier:
    """No other server can hear us (SQLite): every announcement is dropped."""

    def start(self, on_pending: PendingListener, on_changed: ChangedListener) -> None:
        return None

    def announce_pending(self) -> None:
        return None

    def announce_changed(self, job_id: str, *, progress: bool = False) -> None:
        return None

    def stop(self) -> None:
        return None


def notifier_for(engine: Engine, sender: str) -> JobNotifier:
    """LISTEN/NOTIFY on PostgreSQL through psycopg 3; nothing elsewhere."""
    if engine.dialect.name != "postgresql":
        return NullNotifier()
    try:
        import psycopg  # noqa: F401
    except ImportError:
        log.warning("psycopg is not installed: servers wake each other by polling only")
        return NullNotifier()
    return PostgresNotifier(engine, sender)


class PostgresNotifier:
    def __init__(self, engine: Engine, sender: str) -> None:
        self._engine = engine
        self._sender = sender
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self._cond = threading.Condition()
        self._pending = False
        self._status: dict[str, None] = {}  # insertion-ordered sets
        self._progress: dict[str, None] = {}
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listening = threading.Event()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, on_pending: PendingListener, on_changed: ChangedListener) -> None:
        self._threads = [
            threading.Thread(target=self._send_loop, name="visor-notify-send", daemon=True),
            threading.Thread(
                target=self._listen_loop,
                args=(on_pending, on_changed),
                name="visor-notify-listen",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()
        self._listening.wait(5.0)  # announcements made from now on reach us too

    def stop(self) -> None:
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(_LISTEN_SLICE_S * 4)

    # -- sending ----------------------------------------------------------------------------

    def announce_pending(self) -> None:
        with self._cond:
            self._pending = True
            self._cond.notify()

    def announce_changed(self, job_id: str, *, progress: bool = False) -> None:
        with self._cond:
            (self._progress if progress else self._status)[job_id] = None
            self._cond.notify()

    def _send_loop(self) -> None:
        while not self._stopping.is_set():
            with self._cond:
                while not (self._pending or self._status or self._progress):
                    if self._stopping.is_set():
                        return
                    self._cond.wait()
                pending, self._pending = self._pending, False
                status, self._status = list(self._status), {}
                progress, self._progress = list(self._progress), {}
            try:
                self._send(pending, status, progress)
            except Exception:  # the database is away: the poll fallback covers it
                log.warning("job notification failed; other servers will poll", exc_info=True)
                self._stopping.wait(_RETRY_S)

    def _send(self, pending: bool, status: list[str], progress: list[str]) -> None:
        payloads: list[dict[str, Any]] = []
        while status or progress or pending:
            body: dict[str, Any] = {"s": self._sender}
            if pending:
                body["p"] = 1
                pending = False
            room = _MAX_IDS
            if status:
                body["st"], status = status[:room], status[room:]
                room -= len(body["st"])
            if progress and room > 0:
                body["pr"], progress = progress[:room], progress[room:]
            payloads.append(body)
        with self._engine.connect() as conn:
            for body in payloads:
                conn.execute(
                    text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": CHANNEL, "payload": orjson.dumps(body).decode()},
                )
            conn.commit()

    # -- listening --------------------------------------------------------------------------

    def _listen_loop(self, on_pending: PendingListener, on_changed: ChangedListener) -> None:
        import psycopg

        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    while not self._stopping.is_set():
                        for note in conn.notifies(timeout=_LISTEN_SLICE_S):
                            self._dispatch(note.payload, on_pending, on_changed)
            except Exception:
                if self._stopping.is_set():
                    return
                log.warning("job notification listener lost its connection; reconnecting")
                self._listening.set()  # nobody should wait for us meanwhile
                self._stopping.wait(_RETRY_S)

    def _dispatch(
        self, payload: str, on_pending: PendingListener, on_changed: ChangedListener
    ) -> None:
        try:
            body = orjson.loads(payload)
            if body.get("s") == self._sender:
                return  # our own announcement
            if body.get("p"):
                on_pending()
            status, progress = list(body.get("st") or []), list(body.get("pr") or [])
            if status or progress:
                on_changed(status, progress)
        except Exception:  # a malformed payload or a failing listener must not stop us
            log.warning("job notification could not be handled", exc_info=True)
