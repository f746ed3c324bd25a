"""quiz_sessions, session_answers, board_versions: study groups live (issue 10).

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-01 12:00:00
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
        "quiz_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quiz_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("question_ids", sa.ARRAY(sa.Integer()), nullable=False),
        sa.Column("seconds_per_question", sa.SmallInteger(), nullable=False),
        sa.Column("reveal_ms", sa.Integer(), nullable=False),
        sa.Column("current_index", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "phase IN ('scheduled', 'open', 'revealed', 'ended')",
            name=op.f("ck_quiz_sessions_phase_values"),
        ),
        sa.CheckConstraint(
            "cardinality(question_ids) BETWEEN 1 AND 200",
            name=op.f("ck_quiz_sessions_question_count"),
        ),
        sa.ForeignKeyConstraint(
            ["quiz_id"], ["quizzes.id"], name=op.f("fk_quiz_sessions_quiz_id_quizzes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_quiz_sessions_room_id_rooms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_quiz_sessions_created_by_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quiz_sessions")),
    )  # fmt: skip
    op.create_index("ix_quiz_sessions_room_id", "quiz_sessions", ["room_id"])
    op.create_index(
        "ix_quiz_sessions_running",
        "quiz_sessions",
        ["id"],
        postgresql_where=sa.text("phase IN ('open', 'revealed')"),
    )
    op.create_table(
        "session_answers",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("selected_index", sa.SmallInteger(), nullable=False),
        sa.Column("is_correct", sa.Boolean(), nullable=False),
        sa.Column("marks", sa.SmallInteger(), nullable=False),
        sa.Column(
            "answered_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["quiz_sessions.id"],
            name=op.f("fk_session_answers_session_id_quiz_sessions"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_session_answers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"], ["questions.id"],
            name=op.f("fk_session_answers_question_id_questions"), ondelete="CASCADE",
        ),
        # One answer per member per question: a second one can never be stored or scored.
        sa.PrimaryKeyConstraint(
            "session_id", "user_id", "question_id", name=op.f("pk_session_answers")
        ),
    )  # fmt: skip
    op.create_index("ix_session_answers_user_id", "session_answers", ["user_id"])
    op.create_table(
        "board_versions",
        sa.Column("board", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("board", name=op.f("pk_board_versions")),
    )


def downgrade() -> None:
    op.drop_table("board_versions")
    op.drop_index("ix_session_answers_user_id", table_name="session_answers")
    op.drop_table("session_answers")
    op.drop_index("ix_quiz_sessions_running", table_name="quiz_sessions")
    op.drop_index("ix_quiz_sessions_room_id", table_name="quiz_sessions")
    op.drop_table("quiz_sessions")
