"""Rows created on first use (a call's review item, a team's pack choice, a reviewer's calibration answer, a user)
when two transactions may create one at once.

Reading "is it there?" and then inserting loses a race: both transactions read nothing, both insert, and the second
fails on the primary key or a unique key (a 500, and its change is lost). Instead :func:`insert_if_absent` (primary
key) or :func:`insert_unless_taken` (any unique key) inserts with ``ON CONFLICT DO NOTHING``, which waits for a
concurrent insert of the same key to commit (PostgreSQL: its row; SQLite: the write lock) and then leaves it be, and
:func:`locked_row` (by primary key) or :func:`locked_match` (by a unique key) reads the row that is there now,
locked until commit, so a change merged into it cannot overwrite another one made at the same time. One code path
for both databases: their ``INSERT`` constructs differ only in name.

Rows that reference a call (an evaluation, a review, a comment, a queue item, their audit entries and webhook
events) race the call's delete instead: :func:`hold_call` keeps the call until commit, or says it is gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from qa_engine.app.errors import NotFound
from qa_engine.app.models import Call

__all__ = ["call_gone", "hold_call", "hold_row", "insert_if_absent", "insert_unless_taken", "locked_match",
           "locked_row"]

Row = TypeVar("Row")

def insert_if_absent(session: Session, model: type[Any], **values: Any) -> bool:
    """Insert a ``model`` row with ``values`` unless one with its primary key exists (or is being inserted by
    another transaction, which this waits for); True when this inserted it. Pending changes are flushed first."""
    return insert_unless_taken(session, model, [column.name for column in inspect(model).primary_key], **values)


def insert_unless_taken(session: Session, model: type[Any], unique: Sequence[str], /, **values: Any) -> bool:
    """Insert a ``model`` row with ``values`` unless one with the same ``unique`` columns (the primary key or a unique
    constraint's columns, exactly) exists or is being inserted by another transaction, which this waits for; True
    when this inserted it. Pending changes are flushed first."""
    postgres = session.get_bind().dialect.name == "postgresql"  # else SQLite, the only other database supported
    insert = postgresql.insert(model) if postgres else sqlite.insert(model)
    # preserve_rowcount: SQLAlchemy closes the cursor of an INSERT at once, and psycopg's count (not sqlite3's) is
    # gone with it (-1), which read as "not inserted" on PostgreSQL for every new row
    result = session.execute(insert.values(**values).on_conflict_do_nothing(index_elements=list(unique))
                             .execution_options(preserve_rowcount=True))
    return cast(CursorResult[Any], result).rowcount == 1


def locked_row(session: Session, model: type[Row], key: Any) -> Row | None:
    """The row of ``model`` with primary key ``key`` as the database holds it now (not the session's copy), locked
    until commit: PostgreSQL ``FOR UPDATE``; SQLite needs no row lock once the transaction has written."""
    return session.get(model, key, populate_existing=True, with_for_update=True)


def locked_match(session: Session, model: type[Row], **unique: Any) -> Row | None:
    """The row of ``model`` whose columns equal ``unique`` (a unique key's values), as the database holds it now,
    locked until commit like :func:`locked_row`."""
    query = select(model).filter_by(**unique).with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).one_or_none()


def hold_row(session: Session, model: type[Any], key: Any) -> bool:
    """Keep the row of ``model`` with (single-column) primary key ``key`` from being deleted until this transaction
    ends; False when it is gone already.

    A no-op update of the row's key: PostgreSQL takes the row's lock (a delete in flight is waited for, and then the
    row is not found), SQLite the database's write lock (no delete can commit before this transaction does). One
    statement for both databases; the row's values are unchanged.
    """
    table = inspect(model).local_table
    (column,) = table.primary_key.columns
    result = session.execute(update(table).where(column == key).values({column.name: column})
                             .execution_options(preserve_rowcount=True))
    return cast(CursorResult[Any], result).rowcount == 1


def hold_call(session: Session, call_pk: str) -> None:
    """Keep the call ``call_pk`` until commit, before writing anything that references it; NotFound when an admin
    deleted it since the request read it.

    Without it such a write fails the call's foreign key (an IntegrityError, a 500), updates a row that went with
    the call (a StaleDataError, a 500), or leaves rows without a foreign key (audit entries, webhook events) about
    a call that is gone. Take it first, before reading or locking the rows that go with the call: a delete locks
    the call before them, so the other order can deadlock on PostgreSQL.
    """
    if not hold_row(session, Call, call_pk):
        raise call_gone(call_pk)


def call_gone(call_pk: str) -> NotFound:
    """The 404 of a write to a call deleted after the request found it."""
    return NotFound(f"call {call_pk!r} no longer exists")
