"""``search_utterances.match_text``: the text as search matches it, so English words match at word starts.

Search matched substrings of ``text``, so ``hi`` found ``while``. ``match_text`` is the text lower-cased with a
mark before each word of a space-separated script (:func:`qa_engine.app.search_text.match_form`); the n-gram
index moves to it (SQLite: FTS5 ``trigram``, now case-sensitive since the form is lower-cased; PostgreSQL: the
``pg_trgm`` GIN index). Existing rows are filled in here.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BATCH = 2000


def _sqlite_fts(column: str, tokenize: str) -> list[str]:
    """The external-content FTS5 table over ``column`` and the triggers that keep it in step (as in 0005)."""
    return [
        f"CREATE VIRTUAL TABLE search_utterances_fts USING fts5({column}, content='search_utterances', "
        f"content_rowid='id', tokenize='{tokenize}')",
        "CREATE TRIGGER search_utterances_ai AFTER INSERT ON search_utterances BEGIN "
        f"INSERT INTO search_utterances_fts(rowid, {column}) VALUES (new.id, new.{column}); END",
        "CREATE TRIGGER search_utterances_ad AFTER DELETE ON search_utterances BEGIN "
        f"INSERT INTO search_utterances_fts(search_utterances_fts, rowid, {column}) "
        f"VALUES ('delete', old.id, old.{column}); END",
        "CREATE TRIGGER search_utterances_au AFTER UPDATE ON search_utterances BEGIN "
        f"INSERT INTO search_utterances_fts(search_utterances_fts, rowid, {column}) "
        f"VALUES ('delete', old.id, old.{column}); "
        f"INSERT INTO search_utterances_fts(rowid, {column}) VALUES (new.id, new.{column}); END",
        "INSERT INTO search_utterances_fts(search_utterances_fts) VALUES ('rebuild')",
    ]


SQLITE_FTS_DROP = ["DROP TRIGGER IF EXISTS search_utterances_au", "DROP TRIGGER IF EXISTS search_utterances_ad",
                   "DROP TRIGGER IF EXISTS search_utterances_ai", "DROP TABLE IF EXISTS search_utterances_fts"]
PG_OLD_INDEX = "CREATE INDEX ix_search_utterances_text_trgm ON search_utterances USING gin (text gin_trgm_ops)"
PG_NEW_INDEX = ("CREATE INDEX ix_search_utterances_match_text_trgm ON search_utterances "
                "USING gin (match_text gin_trgm_ops)")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":  # the triggers read the columns: go before the table is altered
        for statement in SQLITE_FTS_DROP:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_utterances_text_trgm")
    with op.batch_alter_table("search_utterances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("match_text", sa.Text(), nullable=True))
    _fill_match_text()
    with op.batch_alter_table("search_utterances", schema=None) as batch_op:
        batch_op.alter_column("match_text", existing_type=sa.Text(), nullable=False)
    if dialect == "sqlite":
        for statement in _sqlite_fts("match_text", "trigram case_sensitive 1"):
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute(PG_NEW_INDEX)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_FTS_DROP:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_utterances_match_text_trgm")
    with op.batch_alter_table("search_utterances", schema=None) as batch_op:
        batch_op.drop_column("match_text")
    if dialect == "sqlite":
        for statement in _sqlite_fts("text", "trigram"):
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute(PG_OLD_INDEX)


def _fill_match_text() -> None:
    """Every row's ``match_text``, in id order a batch at a time (a large table is never held in memory)."""
    from qa_engine.app.search_text import match_form

    rows = sa.table("search_utterances", sa.column("id", sa.Integer), sa.column("text", sa.Text),
                    sa.column("match_text", sa.Text))
    bind = op.get_bind()
    last = 0
    while batch := bind.execute(sa.select(rows.c.id, rows.c.text).where(rows.c.id > last)
                                .order_by(rows.c.id).limit(BATCH)).all():
        last = batch[-1][0]
        bind.execute(rows.update().where(rows.c.id == sa.bindparam("pk")).values(match_text=sa.bindparam("form")),
                     [{"pk": pk, "form": match_form(text)} for pk, text in batch])
