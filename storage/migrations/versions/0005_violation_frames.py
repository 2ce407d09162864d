"""context pictures of each violation: the violator in a few frames around the confirmation

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "violation_frames",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("violation_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, comment="0, 1, ... in capture order"),
        sa.Column("path", sa.Text(), nullable=False, comment="the picture (JPEG), next to the snapshot"),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False, comment="the classifier's label in that frame"),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("box", sa.JSON(), nullable=False, comment="the violator's face in the picture, pixels"),
        sa.ForeignKeyConstraint(["violation_id"], ["violations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("violation_id", "position", name="uq_violation_frame_position"),
    )
    op.create_index("ix_violation_frames_violation_id", "violation_frames", ["violation_id"])


def downgrade() -> None:
    op.drop_index("ix_violation_frames_violation_id", table_name="violation_frames")
    op.drop_table("violation_frames")
