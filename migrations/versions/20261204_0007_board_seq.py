"""board_versions.seq: the per-board count of committed scoring changes (issue 10 speed).

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-04 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing boards start at 0: their Redis copies carry no watermark yet, so the first
    # read rebuilds them from PostgreSQL (decisions/0015).
    op.add_column(
        "board_versions",
        sa.Column("seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("board_versions", "seq")
