"""``calls.customer_end_sentiment``: the customer's sentiment at the end of the call, for the dashboard aggregate.

Calls scored before this revision get it from their stored report: the report's analytics when it has them,
else computed from the report's (masked) customer utterances; masking does not change the sentiment score.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_end_sentiment", sa.Float(), nullable=True))
    from qa_engine.app.sentiment_stats import customer_end_from_report

    calls = sa.table("calls", sa.column("id", sa.String), sa.column("report", sa.JSON),
                     sa.column("customer_end_sentiment", sa.Float))
    bind = op.get_bind()
    last = ""
    while True:  # in id order, a batch at a time: a large table is never held in memory at once
        rows = bind.execute(sa.select(calls.c.id, calls.c.report).where(calls.c.id > last)
                            .order_by(calls.c.id).limit(BATCH)).all()
        if not rows:
            break
        last = rows[-1][0]
        values: list[dict[str, Any]] = []
        for call_id, report in rows:
            value = customer_end_from_report(report)
            if value is not None:
                values.append({"pk": call_id, "value": value})
        if values:
            bind.execute(calls.update().where(calls.c.id == sa.bindparam("pk"))
                         .values(customer_end_sentiment=sa.bindparam("value")), values)


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("customer_end_sentiment")
