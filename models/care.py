"""Doctors in the loop: doctor profiles (the directory), consultation shares, the symptom
history and the access log of a patient's health data (issue 11).

A share gives one doctor access to one bot conversation. The doctor is also a member of
the room (role `doctor`), so every read, subscribe and presence check that already goes
through memberships covers them; the share row says how (`read` or `participate`) and is
deleted with the membership when it is revoked.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAt


class ShareMode(StrEnum):
    read = "read"  # history and live events; cannot write
    participate = "participate"  # also writes, types, is present


class DoctorProfile(Base):
    __tablename__ = "doctor_profiles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    specialty: Mapped[str] = mapped_column(String(48), nullable=False)  # the bot's codes
    city: Mapped[str] = mapped_column(String(80), nullable=False)
    languages: Mapped[list[str]] = mapped_column(ARRAY(String(32)), nullable=False)
    available: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    __table_args__ = (Index("ix_doctor_profiles_specialty", "specialty", "available"),)


class ConsultationShare(CreatedAt, Base):
    __tablename__ = "consultation_shares"

    room_id: Mapped[int] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    doctor_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    mode: Mapped[ShareMode] = mapped_column(
        Enum(ShareMode, name="share_mode", values_callable=lambda e: [m.value for m in e]),
        nullable=False,
    )
    # The doctor's first live subscription under this share (the `doctor_joined` notice).
    joined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    # "may this doctor read this patient's history" is the lookup besides the PK.
    __table_args__ = (Index("ix_consultation_shares_patient_doctor", "patient_id", "doctor_id"),)


class SymptomEntry(CreatedAt, Base):
    """One finding of one triage (or typed by the owner). Health data: never logged."""

    __tablename__ = "symptom_entries"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Where it was said; NULL when typed by hand or the conversation was deleted.
    room_id: Mapped[int | None] = mapped_column(
        ForeignKey("rooms.id", ondelete="SET NULL"), nullable=True
    )
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    symptom: Mapped[str] = mapped_column(String(120), nullable=False)
    body_site: Mapped[str | None] = mapped_column(String(80), nullable=True)
    severity: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)  # 0-10
    onset: Mapped[str | None] = mapped_column(String(32), nullable=True)
    duration: Mapped[str | None] = mapped_column(String(80), nullable=True)
    duration_days: Mapped[float | None] = mapped_column(Float, nullable=True)
    negated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (Index("ix_symptom_entries_user_id", "user_id", "id"),)


class AccessEntry(Base):
    """Someone other than the owner read the owner's conversation or symptom history."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    resource: Mapped[str] = mapped_column(String(16), nullable=False)  # conversation|symptoms
    action: Mapped[str] = mapped_column(String(16), nullable=False)  # history|subscribe|read
    room_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

    __table_args__ = (Index("ix_access_log_owner_id", "owner_id", "id"),)
