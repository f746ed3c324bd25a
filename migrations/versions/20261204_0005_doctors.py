"""Doctors in the loop: doctor profiles, consultation shares (and the `doctor` member
role), the symptom history, the access log, the doctors a bot answer lists; and
notifications (`users.notify_seq` is the head of each user's `user:{id}` channel).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 14:00:00
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def _now(name: str) -> sa.Column[datetime]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    # ADD VALUE cannot run inside a transaction block before PostgreSQL 12, and its value
    # cannot be used in the same transaction: nothing below uses it.
    op.execute("ALTER TYPE member_role ADD VALUE IF NOT EXISTS 'doctor'")
    op.add_column("messages", sa.Column("doctors", postgresql.JSONB(), nullable=True))
    op.create_table(
        "doctor_profiles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("specialty", sa.String(length=48), nullable=False),
        sa.Column("city", sa.String(length=80), nullable=False),
        sa.Column("languages", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        _fk("doctor_profiles", "user_id", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_doctor_profiles")),
    )
    op.create_index("ix_doctor_profiles_specialty", "doctor_profiles", ["specialty", "available"])
    op.create_table(
        "consultation_shares",
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("doctor_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.Enum("read", "participate", name="share_mode"), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True),
        _now("created_at"),
        _fk("consultation_shares", "room_id", "rooms", "CASCADE"),
        _fk("consultation_shares", "doctor_id", "users", "CASCADE"),
        _fk("consultation_shares", "patient_id", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("room_id", "doctor_id", name=op.f("pk_consultation_shares")),
    )
    op.create_index(
        "ix_consultation_shares_patient_doctor",
        "consultation_shares",
        ["patient_id", "doctor_id"],
    )
    op.create_table(
        "symptom_entries",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("symptom", sa.String(length=120), nullable=False),
        sa.Column("body_site", sa.String(length=80), nullable=True),
        sa.Column("severity", sa.SmallInteger(), nullable=True),
        sa.Column("onset", sa.String(length=32), nullable=True),
        sa.Column("duration", sa.String(length=80), nullable=True),
        sa.Column("duration_days", sa.Float(), nullable=True),
        sa.Column("negated", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        _now("created_at"),
        _fk("symptom_entries", "user_id", "users", "CASCADE"),
        _fk("symptom_entries", "room_id", "rooms", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_symptom_entries")),
    )
    op.create_index("ix_symptom_entries_user_id", "symptom_entries", ["user_id", "id"])
    op.create_table(
        "access_log",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("resource", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("room_id", sa.BigInteger(), nullable=True),
        _now("at"),
        _fk("access_log", "owner_id", "users", "CASCADE"),
        _fk("access_log", "actor_id", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    op.create_index("ix_access_log_owner_id", "access_log", ["owner_id", "id"])
    op.add_column(
        "users",
        sa.Column("notify_seq", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        _now("created_at"),
        _fk("notifications", "user_id", "users", "CASCADE"),
        _fk("notifications", "room_id", "rooms", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("user_id", "seq", name=op.f("uq_notifications_user_id_seq")),
    )
    op.create_index(
        "ix_notifications_unread",
        "notifications",
        ["user_id", "room_id"],
        postgresql_where=sa.text("read_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_unread", table_name="notifications")
    op.drop_table("notifications")
    op.drop_column("users", "notify_seq")
    op.drop_index("ix_access_log_owner_id", table_name="access_log")
    op.drop_table("access_log")
    op.drop_index("ix_symptom_entries_user_id", table_name="symptom_entries")
    op.drop_table("symptom_entries")
    op.drop_index("ix_consultation_shares_patient_doctor", table_name="consultation_shares")
    op.drop_table("consultation_shares")
    op.execute("DROP TYPE share_mode")
    op.drop_index("ix_doctor_profiles_specialty", table_name="doctor_profiles")
    op.drop_table("doctor_profiles")
    op.drop_column("messages", "doctors")
    # PostgreSQL cannot drop an enum value: rebuild the type without it.
    op.execute("DELETE FROM memberships WHERE role = 'doctor'")
    op.execute("ALTER TYPE member_role RENAME TO member_role_old")
    op.execute("CREATE TYPE member_role AS ENUM ('owner', 'admin', 'member')")
    op.execute(
        "ALTER TABLE memberships ALTER COLUMN role TYPE member_role USING role::text::member_role"
    )
    op.execute("DROP TYPE member_role_old")
