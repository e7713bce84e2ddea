"""Two real sessions interleaved deterministically (SQLite and PostgreSQL alike), for tests of first-use races.

Session A writes its change first and commits only once session B has read a table (or is about to write to it;
with ``reads=False`` only the write counts, for a race between B's read and its write of the table), so B works from
what it could see before A's commit: the interleaving the service meets when two requests touch
the same row at the same instant. B runs in a thread because it waits for A: on PostgreSQL for A's row, on SQLite
for A's write lock (the app's engine, with its busy timeout, on the test file). :func:`race_to_commit` runs a whole
use case, which commits itself, on each side: A's commit is held back instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session, sessionmaker

#: how long the test waits for a session before calling the interleaving broken (seconds)
PATIENCE = 30


class TableTouched:
    """Set once a connection has read ``table`` (unless ``reads`` is False) or is about to write to it or lock its
    rows (a lock waits for A); with several tables, the first of them that it touches."""

    def __init__(self, connection: Connection, table: str | tuple[str, ...], *, reads: bool = True) -> None:
        self.tables = (table,) if isinstance(table, str) else table
        self.reads = reads
        self.event = threading.Event()
        event.listen(connection, "before_cursor_execute", self._before)
        event.listen(connection, "after_cursor_execute", self._after)

    def _before(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sql = statement.upper()
        named = any(table.upper() in sql for table in self.tables)
        if named and (not sql.lstrip().startswith("SELECT") or "FOR UPDATE" in sql):
            self.event.set()

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.reads and any(table in statement for table in self.tables):
            self.event.set()


def session_factory(client: TestClient) -> sessionmaker[Session]:
    """The app's own sessions (its engine, with SQLite's busy timeout and retries)."""
    factory: sessionmaker[Session] = client.app.state.session_factory  # type: ignore[attr-defined]
    return factory


def holding_call(factory: sessionmaker[Session], table: str) -> dict[str, Any]:
    """:func:`race`'s ``table`` and ``reads`` for a ``second`` that holds its call (``hold_call``) before it reaches
    ``table``: on SQLite that is its first write, which waits for A's write lock, so A commits as B is about to
    take it; PostgreSQL's row locks let B reach ``table`` first."""
    if factory.kw["bind"].dialect.name == "sqlite":
        return {"table": "calls", "reads": False}
    return {"table": table}


def race(factory: sessionmaker[Session], table: str, first: Callable[[Session], Any],
         second: Callable[[Session], Any], *, reads: bool = True) -> None:
    """``first`` in session A (flushed), then ``second`` in session B from what B sees of ``table`` before A
    commits (``reads=False``: A commits when B is about to write to ``table``); both commit. Raises what B raised."""
    with factory() as session_a, factory() as session_b, ThreadPoolExecutor(1) as pool:
        touched = TableTouched(session_b.connection(), table, reads=reads)
        first(session_a)
        session_a.flush()

        def run_b() -> None:
            second(session_b)
            session_b.commit()

        outcome = pool.submit(run_b)
        try:
            assert touched.event.wait(PATIENCE), f"session B never reached {table}"
            session_a.commit()
        finally:
            session_a.close()  # on failure: releases A's locks so that B can finish
        outcome.result(timeout=PATIENCE)


def race_to_commit(factory: sessionmaker[Session], tables: tuple[str, ...], first: Callable[[Session], Any],
                   second: Callable[[Session], Any]) -> tuple[Any, Any]:
    """``first`` in session A up to its own commit, which waits until session B, running ``second`` from then on,
    has touched one of ``tables`` (read it, or is about to write to it or lock it); both run to the end. Returns
    what each returned; raises what A or B raised."""
    with factory() as session_a, factory() as session_b, ThreadPoolExecutor(2) as pool:
        touched = TableTouched(session_b.connection(), tables)
        committing = threading.Event()

        def hold_commit(_session: Session) -> None:
            committing.set()
            assert touched.event.wait(PATIENCE), f"session B never reached {tables}"

        def run_a() -> Any:
            try:
                return first(session_a)
            finally:
                session_a.close()  # on failure too: releases A's locks so that B can finish

        event.listen(session_a, "before_commit", hold_commit, once=True)
        outcome_a = pool.submit(run_a)
        outcome_a.add_done_callback(lambda _: committing.set())  # A ended without committing: B still runs
        assert committing.wait(PATIENCE), "session A never committed"
        outcome_b = pool.submit(second, session_b)
        return outcome_a.result(timeout=PATIENCE), outcome_b.result(timeout=PATIENCE)
