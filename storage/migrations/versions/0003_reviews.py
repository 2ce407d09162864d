"""review state on violations, and the review audit trail

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 07:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("violations") as batch_op:
        batch_op.add_column(
            sa.Column(
                "review_state",
                sa.String(length=16),
                nullable=False,
                server_default="unreviewed",
                comment="unreviewed | confirmed | false_positive",
            )
        )
        batch_op.add_column(
            sa.Column(
                "review_label",
                sa.String(length=32),
                nullable=True,
                comment="the reviewer's label: the true class of the face",
            )
        )
        batch_op.add_column(sa.Column("reviewed_by", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_violations_review_state", ["review_state"])
    op.create_table(
        "review_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("violation_id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["violation_id"], ["violations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_review_events_violation_id", "review_events", ["violation_id"])


def downgrade() -> None:
    op.drop_index("ix_review_events_violation_id", table_name="review_events")
    op.drop_table("review_events")
    with op.batch_alter_table("violations") as batch_op:
        batch_op.drop_index("ix_violations_review_state")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("reviewed_by")
        batch_op.drop_column("review_label")
        batch_op.drop_column("review_state")
