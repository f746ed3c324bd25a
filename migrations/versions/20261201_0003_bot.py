"""Symptom2Specialist: bot answers in messages (author NULL, reply_to, triage, usage,
error) and bot_streams, the answers in flight (one per conversation).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("messages", "author_id", existing_type=sa.Integer(), nullable=True)
    op.add_column("messages", sa.Column("reply_to", sa.BigInteger(), nullable=True))
    op.add_column("messages", sa.Column("triage", postgresql.JSONB(), nullable=True))
    op.add_column("messages", sa.Column("usage", postgresql.JSONB(), nullable=True))
    op.add_column("messages", sa.Column("error", postgresql.JSONB(), nullable=True))
    op.create_table(
        "bot_streams",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("reply_to", sa.BigInteger(), nullable=True),
        sa.Column("node", sa.String(length=128), nullable=False),
        sa.Column("provider", sa.String(length=128), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_bot_streams_room_id_rooms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_bot_streams_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_streams")),
    )
    # One answer in flight per conversation, whichever worker is asked.
    op.create_index(
        "uq_bot_streams_room_in_flight",
        "bot_streams",
        ["room_id"],
        unique=True,
        postgresql_where=sa.text("finished_at IS NULL"),
    )
    # What the sweepers scan: only unfinished rows, so the index stays tiny.
    op.create_index(
        "ix_bot_streams_in_flight",
        "bot_streams",
        ["started_at"],
        postgresql_where=sa.text("finished_at IS NULL"),
    )
    op.create_index("ix_bot_streams_owner_id", "bot_streams", ["owner_id"])


def downgrade() -> None:
    op.drop_index("ix_bot_streams_owner_id", table_name="bot_streams")
    op.drop_index("ix_bot_streams_in_flight", table_name="bot_streams")
    op.drop_index("uq_bot_streams_room_in_flight", table_name="bot_streams")
    op.drop_table("bot_streams")
    # Bot answers have no author; they cannot survive a schema that requires one.
    op.execute("DELETE FROM messages WHERE author_id IS NULL")
    op.drop_column("messages", "error")
    op.drop_column("messages", "usage")
    op.drop_column("messages", "triage")
    op.drop_column("messages", "reply_to")
    op.alter_column("messages", "author_id", existing_type=sa.Integer(), nullable=False)
