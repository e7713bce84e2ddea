"""Coaching comments can be edited and deleted: ``edited_at``, and a tombstone's ``deleted_at`` / ``deleted_by``.

Existing comments were never edited or deleted: the new columns start empty. On SQLite the table is rebuilt with
``AUTOINCREMENT``, so that a deleted comment's id is never given to a new one (the audit trail names comments by id).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("coaching_comments", schema=None, recreate="always" if sqlite else "auto",
                              table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deleted_by", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("coaching_comments", schema=None) as batch_op:
        batch_op.drop_column("deleted_by")
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("edited_at")
