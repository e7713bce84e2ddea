"""Retention: ``calls.audio_deleted_at`` (a recording purged, the call kept) and ``maintenance_runs``.

``maintenance_runs`` holds one row per periodic task (``retention``) with when it last started: a worker claims
the run by moving that time forward in one UPDATE, so that of many workers only one purges, at most once an hour.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("audio_deleted_at", sa.DateTime(timezone=True), nullable=True))
    runs = op.create_table(
        "maintenance_runs",
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("task"),
    )
    op.bulk_insert(runs, [{"task": "retention", "started_at": None}])


def downgrade() -> None:
    op.drop_table("maintenance_runs")
    # not in batch mode: SQLite (3.35+) drops a column in place; recreating ``calls`` would mean dropping a table
    # that every call's rows refer to (foreign keys with ON DELETE CASCADE)
    op.drop_column("calls", "audio_deleted_at")
