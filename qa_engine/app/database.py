"""SQLAlchemy 2 engine and sessions; SQLite gets WAL, foreign keys and a busy timeout.

Errors a user can act on (database unreachable, a value a column cannot hold) are explained by
``qa_engine.app.db_errors``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from qa_engine.app.db_errors import DatabaseUnavailableError, explain_errors

__all__ = ["Base", "DatabaseUnavailableError", "make_engine", "make_session_factory", "normalize_url", "parse_url"]


class Base(DeclarativeBase):
    """Declarative base of every table (``qa_engine.app.models``)."""


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


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
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(parsed, pool_pre_ping=True)
    event.listen(engine, "handle_error", explain_errors)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


