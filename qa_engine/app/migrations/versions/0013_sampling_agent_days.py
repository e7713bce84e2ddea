"""``sampling_agent_days``: a sampling plan's lock on one agent's day, so that ``per_agent_min`` top-ups take turns.

Two draws of one agent's calls of one day at the same instant each counted only the selections committed before
them, so both could be topped up. A draw that may top up now first takes this row (created on first use) under a
row lock. Existing plans start with no rows: each is created the first time a draw needs it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sampling_agent_days",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(length=128), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["sampling_plans.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plan_id", "agent", "day"),
    )


def downgrade() -> None:
    op.drop_table("sampling_agent_days")
