"""Rows created on first use (a call's review item, a team's pack choice) when two transactions may create one at once.

Reading "is it there?" and then inserting loses a race: both transactions read nothing, both insert, and the second
fails on the primary key (a 500, and its change is lost). Instead :func:`insert_if_absent` inserts with
``ON CONFLICT DO NOTHING``, which waits for a concurrent insert of the same key to commit (PostgreSQL: its row;
SQLite: the write lock) and then leaves it be, and :func:`locked_row` reads the row that is there now, locked until
commit, so a change merged into it cannot overwrite another one made at the same time. One code path for both
databases: their ``INSERT`` constructs differ only in name.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

__all__ = ["insert_if_absent", "locked_row"]

Row = TypeVar("Row")

def insert_if_absent(session: Session, model: type[Any], **values: Any) -> bool:
    """Insert a ``model`` row with ``values`` unless one with its primary key exists (or is being inserted by
    another transaction, which this waits for); True when this inserted it. Pending changes are flushed first."""
    postgres = session.get_bind().dialect.name == "postgresql"  # else SQLite, the only other database supported
    insert = postgresql.insert(model) if postgres else sqlite.insert(model)
    key = [column.name for column in inspect(model).primary_key]
    result = session.execute(insert.values(**values).on_conflict_do_nothing(index_elements=key))
    return cast(CursorResult[Any], result).rowcount == 1


def locked_row(session: Session, model: type[Row], key: Any) -> Row | None:
    """The row of ``model`` with primary key ``key`` as the database holds it now (not the session's copy), locked
    until commit: PostgreSQL ``FOR UPDATE``; SQLite needs no row lock once the transaction has written."""
    return session.get(model, key, populate_existing=True, with_for_update=True)
