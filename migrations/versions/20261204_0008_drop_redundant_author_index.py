"""Drop ix_messages_author_id: the unique (author_id, client_id) index leads with author_id
and serves every lookup it served (the idempotency check, the users foreign key's cascade),
so it only cost a second index write on every stored message.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 21:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_messages_author_id", table_name="messages")


def downgrade() -> None:
    op.create_index("ix_messages_author_id", "messages", ["author_id"], unique=False)
