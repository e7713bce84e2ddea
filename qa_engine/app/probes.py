"""What the readiness probe and the metrics endpoint check: the database answers, its schema is current.

Why in the application layer: deciding that the service cannot serve (database down, migrations not applied)
is about the database and the migrations shipped with this version, not about HTTP; the edge only turns the
answer into a 200 or a 503. Nothing here touches call data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from qa_engine.app.metrics import refresh_queue_gauges
from qa_engine.app.migrate import alembic_config

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest migration shipped with this version of the service."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def not_ready_reason(engine: Engine) -> str | None:
    """Why the service cannot serve requests (database down or not migrated), or None when it can."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        return f"database unavailable: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    head = head_revision()
    if current != head:
        return f"database schema at revision {current or 'none'}, expected {head} (run 'qa-engine db upgrade')"
    return None


def refresh_queue_depths(session_factory: Callable[[], Session]) -> bool:
    """Read the queue depths into the metrics gauges; False (logged) when the database does not answer.

    The process metrics are still worth serving then; the readiness probe reports the database.
    """
    try:
        with session_factory() as session:
            refresh_queue_gauges(session)
    except SQLAlchemyError as exc:
        logger.warning("metrics: queue depths not refreshed: %s", exc)
        return False
    return True


__all__ = ["head_revision", "not_ready_reason", "refresh_queue_depths"]
