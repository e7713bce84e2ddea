"""Coaching comments anchored at a moment of a call (``coaching_comments``), with replies in one thread.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coaching_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_pk", sa.String(length=32), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("author_role", sa.String(length=16), nullable=False),
        sa.Column("at", sa.Float(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["call_pk"], ["calls.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["parent_id"], ["coaching_comments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("coaching_comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coaching_comments_call_pk"), ["call_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_coaching_comments_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coaching_comments_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("coaching_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coaching_comments_created_at"))
        batch_op.drop_index(batch_op.f("ix_coaching_comments_parent_id"))
        batch_op.drop_index(batch_op.f("ix_coaching_comments_call_pk"))
    op.drop_table("coaching_comments")
