"""Canonical grade and category ids: ``calls.grade_id`` and ``calls.category_id``, filled from the labels.

The labels stay as the pack wrote them (不合格, fail); the ids (``fail``) are what filters and aggregates use.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from qa_engine.rules.labels import canonical_category, canonical_grade

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grade_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("category_id", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_calls_grade_id"), ["grade_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_category_id"), ["category_id"], unique=False)
    calls = sa.table("calls", sa.column("grade", sa.String), sa.column("grade_id", sa.String),
                     sa.column("category", sa.String), sa.column("category_id", sa.String))
    bind = op.get_bind()
    # one UPDATE per distinct label (a handful), not per call
    for label in bind.execute(sa.select(calls.c.grade).where(calls.c.grade.is_not(None)).distinct()).scalars().all():
        bind.execute(calls.update().where(calls.c.grade == label).values(grade_id=canonical_grade(label)))
    for label in bind.execute(sa.select(calls.c.category).where(calls.c.category.is_not(None)).distinct()
                              ).scalars().all():
        bind.execute(calls.update().where(calls.c.category == label).values(category_id=canonical_category(label)))


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_category_id"))
        batch_op.drop_index(batch_op.f("ix_calls_grade_id"))
        batch_op.drop_column("category_id")
        batch_op.drop_column("grade_id")
