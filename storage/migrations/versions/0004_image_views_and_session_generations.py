"""the access log of violation pictures (who opened which, and when), and console session
generations (a logout ends every copy of a session, across restarts)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "image_views",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("violation_id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False, comment="frame | crop"),
        sa.Column("blurred", sa.Boolean(), nullable=False, comment="the face was shown blurred"),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["violation_id"], ["violations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_image_views_violation_id", "image_views", ["violation_id"])
    op.create_table(
        "session_generations",
        sa.Column("user", sa.String(length=80), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user"),
    )


def downgrade() -> None:
    op.drop_table("session_generations")
    op.drop_index("ix_image_views_violation_id", table_name="image_views")
    op.drop_table("image_views")
