"""Review queue (supervisor inbox) and sampling plans (抽检): ``review_items``, ``sampling_plans``, ``sampling_draws``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("call_pk", sa.String(length=32), nullable=False),
        sa.Column("reasons", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("assigned_to", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_by", sa.String(length=128), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('open', 'in_review', 'done')", name="ck_review_items_state"),
        sa.ForeignKeyConstraint(["call_pk"], ["calls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("call_pk"),
    )
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_items_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_items_assigned_to"), ["assigned_to"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_items_created_at"), ["created_at"], unique=False)
    op.create_table(
        "sampling_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=128), nullable=False),
        sa.Column("percent", sa.Float(), nullable=False),
        sa.Column("per_agent_min", sa.Integer(), nullable=False),
        sa.Column("include", sa.JSON(), nullable=True),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sampling_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sampling_plans_team"), ["team"], unique=False)
    op.create_table(
        "sampling_draws",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("call_pk", sa.String(length=32), nullable=False),
        sa.Column("agent", sa.String(length=128), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("selected", sa.Boolean(), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["sampling_plans.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["call_pk"], ["calls.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plan_id", "call_pk"),
    )
    with op.batch_alter_table("sampling_draws", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sampling_draws_call_pk"), ["call_pk"], unique=False)
        batch_op.create_index("ix_sampling_draws_plan_agent_day", ["plan_id", "agent", "day"], unique=False)


def downgrade() -> None:
    op.drop_table("sampling_draws")
    op.drop_table("sampling_plans")
    op.drop_table("review_items")
