"""camera status events, camera alerts in the outbox, idempotency keys, frame counts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 06:20:45.085144
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "camera_status_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_camera_status_events_camera_at", "camera_status_events", ["camera_id", "at"])

    with op.batch_alter_table("alert_outbox") as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.String(length=32),
                nullable=False,
                server_default="violation",
                comment="violation | camera_offline | camera_online",
            )
        )
        batch_op.add_column(
            sa.Column(
                "event_key",
                sa.String(length=300),
                nullable=True,
                comment="idempotency key, sent as the Idempotency-Key header",
            )
        )
        batch_op.alter_column("violation_id", existing_type=sa.Integer(), nullable=True)
    # Alerts written before keys existed keep a unique key of their own.
    op.execute("UPDATE alert_outbox SET event_key = 'outbox:' || CAST(id AS VARCHAR(20)) WHERE event_key IS NULL")
    with op.batch_alter_table("alert_outbox") as batch_op:
        batch_op.alter_column("event_key", existing_type=sa.String(length=300), nullable=False)
        batch_op.create_unique_constraint("uq_outbox_event", ["channel", "event_key"])

    with op.batch_alter_table("cameras") as batch_op:
        batch_op.add_column(
            sa.Column(
                "down_since",
                sa.DateTime(timezone=True),
                nullable=True,
                comment="when it stopped being watched; null while online",
            )
        )
        batch_op.add_column(
            sa.Column(
                "offline_alerted",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
                comment="a camera_offline alert went out for the current outage",
            )
        )
    with op.batch_alter_table("evaluation_counts") as batch_op:
        batch_op.add_column(
            sa.Column(
                "frames",
                sa.Integer(),
                nullable=False,
                server_default="0",
                comment="frames analyzed (each counted once)",
            )
        )
    with op.batch_alter_table("violations") as batch_op:
        batch_op.alter_column(
            "track_id", existing_type=sa.String(length=64), type_=sa.String(length=128), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("violations") as batch_op:
        batch_op.alter_column(
            "track_id", existing_type=sa.String(length=128), type_=sa.String(length=64), existing_nullable=False
        )
    with op.batch_alter_table("evaluation_counts") as batch_op:
        batch_op.drop_column("frames")
    with op.batch_alter_table("cameras") as batch_op:
        batch_op.drop_column("offline_alerted")
        batch_op.drop_column("down_since")
    op.execute("DELETE FROM alert_attempts WHERE outbox_id IN (SELECT id FROM alert_outbox WHERE violation_id IS NULL)")
    op.execute("DELETE FROM alert_outbox WHERE violation_id IS NULL")
    with op.batch_alter_table("alert_outbox") as batch_op:
        batch_op.drop_constraint("uq_outbox_event", type_="unique")
        batch_op.alter_column("violation_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("event_key")
        batch_op.drop_column("kind")
    op.drop_index("ix_camera_status_events_camera_at", table_name="camera_status_events")
    op.drop_table("camera_status_events")
