"""``content_locks``: the lock on one uploaded content, so that identical uploads at the same instant store one call.

The duplicate check of an upload read only committed calls: two identical uploads at once (a double click, a client
retrying) each found none and each stored and scored a call. An upload now takes this row (created on first use)
under a row lock before it looks for a twin, and holds it until it commits. Nothing is unique on ``calls``, so a
database that already holds such duplicates migrates as it is (a later upload finds one of them, as before).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_locks",
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("content_hash"),
    )


def downgrade() -> None:
    op.drop_table("content_locks")
