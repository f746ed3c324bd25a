"""service_links and link_tokens: bridges act only for the users linked to them.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-04 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["users.id"],
            name=op.f("fk_service_links_service_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_service_links_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_links")),
        sa.UniqueConstraint(
            "service_id", "external_id", name=op.f("uq_service_links_service_id_external_id")
        ),
        sa.UniqueConstraint(
            "service_id", "user_id", name=op.f("uq_service_links_service_id_user_id")
        ),
    )
    op.create_table(
        "link_tokens",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["service_links.id"],
            name=op.f("fk_link_tokens_link_id_service_links"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_link_tokens")),
    )
    op.create_index("ix_link_tokens_link_id", "link_tokens", ["link_id"])


def downgrade() -> None:
    op.drop_index("ix_link_tokens_link_id", table_name="link_tokens")
    op.drop_table("link_tokens")
    op.drop_table("service_links")
