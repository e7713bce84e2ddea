"""SQLAlchemy 2 engine and sessions; SQLite gets WAL, foreign keys, a busy timeout and retries when locked.

Errors a user can act on (database unreachable, a value a column cannot hold) are explained by
``qa_engine.app.db_errors``.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from qa_engine.app.db_errors import DatabaseUnavailableError, explain_errors

logger = logging.getLogger(__name__)

__all__ = ["Base", "DatabaseUnavailableError", "make_engine", "make_session_factory", "normalize_url", "parse_url"]


class Base(DeclarativeBase):
    """Declarative base of every table (``qa_engine.app.models``)."""


#: SQLite lets one connection write at a time. A statement that finds the database locked waits up to the busy
#: timeout for the writer before it; should it still find it locked (a writer may be overtaken again and again
#: under load: SQLite's waiting is not a queue), the statement is tried again, up to SQLITE_LOCK_RETRIES times.
SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_LOCK_RETRIES = 5
#: Connections kept per engine: every worker thread of the server may hold one while it waits for the lock.
SQLITE_POOL_SIZE, SQLITE_MAX_OVERFLOW = 10, 50


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_MS)}")  # first: the pragmas below may wait too
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _is_locked(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "database is locked" in str(exc)


def _execute_retrying(run: Callable[[], object], dbapi_conn: Any) -> bool:
    """Run a statement; when SQLite still reports "database is locked" after its busy timeout, try it again.

    Only a statement that starts a transaction is tried again: the sqlite3 driver opens one just before the
    first INSERT/UPDATE/DELETE (reads before it run outside any), so the failed statement is the transaction's
    first and nothing of it was written or read. A statement later in a transaction already holds the lock.
    """
    fresh = not dbapi_conn.in_transaction
    for attempt in range(SQLITE_LOCK_RETRIES + 1):
        try:
            run()
            return True
        except sqlite3.OperationalError as exc:
            if not fresh or attempt == SQLITE_LOCK_RETRIES or not _is_locked(exc):
                raise
            logger.warning("SQLite database locked for over %d ms; trying again (%d of %d)",
                           SQLITE_BUSY_TIMEOUT_MS, attempt + 1, SQLITE_LOCK_RETRIES)
            time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))  # noqa: S311 - jitter, not a secret
    return True


def _do_execute(cursor: Any, statement: str, parameters: Any, _context: Any) -> bool:
    return _execute_retrying(lambda: cursor.execute(statement, parameters), cursor.connection)


def _do_execute_no_params(cursor: Any, statement: str, _context: Any) -> bool:
    return _execute_retrying(lambda: cursor.execute(statement), cursor.connection)


def _do_executemany(cursor: Any, statement: str, parameters: Any, _context: Any) -> bool:
    return _execute_retrying(lambda: cursor.executemany(statement, parameters), cursor.connection)


#: Drivers the service is tested with; a plain ``postgresql://`` (or ``postgres://``) URL gets psycopg 3.
_DEFAULT_DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}


def normalize_url(url: str) -> str:
    """``url`` with the driver the service ships with filled in (``postgresql://`` -> ``postgresql+psycopg://``).

    SQLAlchemy would pick psycopg2 for a bare ``postgresql://`` URL, which is not installed; users copy URLs from
    ``psql``/libpq docs and cloud consoles that never name a driver. An explicit driver is kept as given.

    Raises:
        ValueError: ``url`` is not a database URL, or not one of the supported databases (SQLite, PostgreSQL).
    """
    parsed = parse_url(url)
    backend = parsed.drivername.split("+", 1)[0]
    if backend not in ("sqlite", "postgresql", "postgres"):
        raise ValueError(f"database URL: unsupported database {backend!r}; qa-engine runs on SQLite "
                         "(sqlite:////path/qa-engine.db) or PostgreSQL (postgresql://user:password@host:5432/dbname)")
    driver = _DEFAULT_DRIVERS.get(parsed.drivername)
    if driver is None:
        return url
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def parse_url(url: str) -> URL:
    """Parse a SQLAlchemy URL; a clear ``ValueError`` for anything else."""
    try:
        return make_url(url)
    except ArgumentError:
        # The value is not echoed: it may hold a password.
        raise ValueError("database URL: not a URL; expected sqlite:////path/qa-engine.db or "
                         "postgresql://user:password@host:5432/dbname") from None


def make_engine(url: str) -> Engine:
    """An engine for ``url``; for a SQLite file its folder is created first."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailableError(f"cannot create the database folder {folder}: {exc.strerror} "
                                               "(check --data-dir / --db)", exc) from exc
        in_memory = parsed.database in (None, "", ":memory:") or "mode=memory" in str(parsed.query)
        pool: dict[str, Any] = {} if in_memory else {"pool_size": SQLITE_POOL_SIZE, "max_overflow": SQLITE_MAX_OVERFLOW}
        engine = create_engine(url, connect_args={"check_same_thread": False}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        for name, retrying in (("do_execute", _do_execute), ("do_execute_no_params", _do_execute_no_params),
                               ("do_executemany", _do_executemany)):
            event.listen(engine, name, retrying)
    else:
        engine = create_engine(parsed, pool_pre_ping=True)
    event.listen(engine, "handle_error", explain_errors)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


