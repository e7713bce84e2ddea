"""Evaluation forms, evaluations (manual scores of calls) and calibration sessions.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluation_forms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("auto_weight", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team", "name", "version", name="uq_evaluation_forms_version"),
    )
    with op.batch_alter_table("evaluation_forms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluation_forms_team"), ["team"], unique=False)

    op.create_table(
        "calibration_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("team", sa.String(length=128), nullable=False),
        sa.Column("form_id", sa.Integer(), nullable=False),
        sa.Column("calls", sa.JSON(), nullable=False),
        sa.Column("reviewers", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["form_id"], ["evaluation_forms.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("calibration_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calibration_sessions_team"), ["team"], unique=False)

    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_pk", sa.String(length=32), nullable=False),
        sa.Column("form_id", sa.Integer(), nullable=False),
        sa.Column("calibration_id", sa.Integer(), nullable=True),
        sa.Column("reviewer", sa.String(length=128), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("rule_verdicts", sa.JSON(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("auto_score", sa.Float(), nullable=True),
        sa.Column("manual_score", sa.Float(), nullable=True),
        sa.Column("final_score", sa.Float(), nullable=True),
        sa.Column("critical_failed", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(["call_pk"], ["calls.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["form_id"], ["evaluation_forms.id"]),
        sa.ForeignKeyConstraint(["calibration_id"], ["calibration_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("calibration_id", "call_pk", "reviewer", name="uq_evaluations_calibration"),
    )
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluations_call_pk"), ["call_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_evaluations_form_id"), ["form_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evaluations_calibration_id"), ["calibration_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evaluations_reviewer"), ["reviewer"], unique=False)


def downgrade() -> None:
    op.drop_table("evaluations")
    op.drop_table("calibration_sessions")
    op.drop_table("evaluation_forms")
