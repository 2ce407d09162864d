"""violation ids are never reused on SQLite (AUTOINCREMENT), as they never are on Postgres

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 17:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild(autoincrement: bool) -> None:
    # SQLite can only change this by rebuilding the table; Postgres sequences never reuse an id.
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("violations", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}):
        pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
