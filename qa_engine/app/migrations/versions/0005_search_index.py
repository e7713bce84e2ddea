"""Search index over masked utterance text: ``search_utterances`` and an n-gram index over its ``text``.

SQLite: an external-content FTS5 table with the ``trigram`` tokenizer, kept in step by triggers (also when a call's
rows go by ``ON DELETE CASCADE``). PostgreSQL: the ``pg_trgm`` extension and a GIN trigram index. Both find
Chinese substrings without word segmentation. Calls scored before this revision are indexed here (backfill).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ROLES = ("agent", "customer", "unknown")
BACKFILL_BATCH = 500

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE search_utterances_fts USING fts5(text, content='search_utterances', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER search_utterances_ai AFTER INSERT ON search_utterances BEGIN "
    "INSERT INTO search_utterances_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER search_utterances_ad AFTER DELETE ON search_utterances BEGIN "
    "INSERT INTO search_utterances_fts(search_utterances_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER search_utterances_au AFTER UPDATE ON search_utterances BEGIN "
    "INSERT INTO search_utterances_fts(search_utterances_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO search_utterances_fts(rowid, text) VALUES (new.id, new.text); END",
]
SQLITE_FTS_DROP = ["DROP TRIGGER IF EXISTS search_utterances_au", "DROP TRIGGER IF EXISTS search_utterances_ad",
                   "DROP TRIGGER IF EXISTS search_utterances_ai", "DROP TABLE IF EXISTS search_utterances_fts"]


def upgrade() -> None:
    op.create_table(
        "search_utterances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_pk", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("end", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["call_pk"], ["calls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_search_utterances_call_pk", "search_utterances", ["call_pk"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_search_utterances_text_trgm ON search_utterances USING gin (text gin_trgm_ops)")
    _backfill()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_FTS_DROP:
            op.execute(statement)
    op.drop_index("ix_search_utterances_call_pk", table_name="search_utterances")
    op.drop_table("search_utterances")  # the trigram index goes with it; pg_trgm stays (others may use it)


def _backfill() -> None:
    """Index the utterances of every report stored before this revision (what ``store_report`` now does)."""
    bind = op.get_bind()
    calls = sa.table("calls", sa.column("id", sa.String()), sa.column("report", sa.JSON()))
    rows = sa.table("search_utterances", sa.column("call_pk", sa.String()), sa.column("role", sa.String()),
                    sa.column("start", sa.Float()), sa.column("end", sa.Float()), sa.column("text", sa.Text()))
    last = ""
    while True:
        batch = bind.execute(sa.select(calls.c.id, calls.c.report).where(calls.c.report.is_not(None), calls.c.id > last)
                             .order_by(calls.c.id).limit(BACKFILL_BATCH)).all()
        if not batch:
            return
        values = [row for call_pk, report in batch for row in _utterances(call_pk, report)]
        if values:
            bind.execute(rows.insert(), values)
        last = batch[-1][0]


def _utterances(call_pk: str, report: Any) -> list[dict[str, Any]]:
    if isinstance(report, str):  # a JSON column read without its type on some drivers
        try:
            report = json.loads(report)
        except ValueError:
            return []
    items = report.get("utterances") if isinstance(report, dict) else None
    out: list[dict[str, Any]] = []
    for u in items if isinstance(items, list) else []:
        if not isinstance(u, dict) or not isinstance(u.get("text"), str) or not u["text"].strip():
            continue
        try:
            start, end = float(u.get("start") or 0.0), float(u.get("end") or 0.0)
        except (TypeError, ValueError):
            continue
        role = u.get("role") if u.get("role") in ROLES else "unknown"
        out.append({"call_pk": call_pk, "role": role, "start": start, "end": end, "text": u["text"]})
    return out
