"""The symptom history: structured findings from each triage, per user.

Every patient message in a bot conversation is read by the offline engine; each finding of
that message (not the ones repeated from earlier messages) becomes an entry: symptom, body
site, severity 0-10 when stated as a number, onset, duration, and whether it was negated
("no fever"). The owner lists, corrects, adds and deletes entries; a doctor reads them only
while the patient shares a conversation with them, and every such read is logged
(domain/care/audit.py). Entries are health data: never logged, never a metric label.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.care import audit, shares
from domain.errors import Forbidden, NotFound
from domain.triage import Finding
from models import SymptomEntry, User

log = logging.getLogger("parley.symptoms")


class SymptomFields(BaseModel):
    """What an owner may write (all fields for a new entry; any subset for a correction)."""

    model_config = ConfigDict(frozen=True)

    symptom: str | None = None
    body_site: str | None = None
    severity: int | None = None
    onset: str | None = None
    duration: str | None = None
    negated: bool | None = None


class SymptomView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    symptom: str
    body_site: str | None
    severity: int | None
    onset: str | None
    duration: str | None
    duration_days: float | None
    negated: bool
    room_id: int | None
    seq: int | None
    created_at: datetime
    updated_at: datetime | None


def view(e: SymptomEntry) -> SymptomView:
    return SymptomView(
        id=e.id,
        symptom=e.symptom,
        body_site=e.body_site,
        severity=e.severity,
        onset=e.onset,
        duration=e.duration,
        duration_days=e.duration_days,
        negated=e.negated,
        room_id=e.room_id,
        seq=e.seq,
        created_at=e.created_at,
        updated_at=e.updated_at,
    )


def entries_of(
    user_id: int, room_id: int, seq: int, findings: Sequence[Finding]
) -> list[SymptomEntry]:
    """The entries a message's findings make (findings from earlier messages are skipped:
    they were recorded when they were said)."""
    return [
        SymptomEntry(
            user_id=user_id,
            room_id=room_id,
            seq=seq,
            symptom=f.symptom[:120],
            body_site=f.body_site[:80] if f.body_site else None,
            severity=f.severity,
            onset=f.onset,
            duration=f.duration.text[:80] if f.duration else None,
            duration_days=f.duration.days if f.duration else None,
            negated=f.negated,
        )
        for f in findings
        if not f.from_history
    ]


async def record(
    sessions: async_sessionmaker[AsyncSession],
    user_id: int,
    room_id: int,
    seq: int,
    findings: Sequence[Finding],
) -> None:
    """Store a message's findings. Never raises: the message itself is already stored and
    acknowledged; a lost entry is logged without its content."""
    if not entries_of(user_id, room_id, seq, findings):
        return
    async with sessions() as session:
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        await record_on(session, user_id, room_id, seq, findings)


async def record_on(
    session: AsyncSession,
    user_id: int,
    room_id: int,
    seq: int,
    findings: Sequence[Finding],
) -> None:
    """`record` on a session the caller holds anyway, already in autocommit (one pool
    checkout for a send's last writes). One statement: the rows are stored together or not
    at all, with no BEGIN/COMMIT round trips. Never raises, like `record`."""
    rows = [
        {c: getattr(e, c) for c in _ENTRY_COLUMNS}
        for e in entries_of(user_id, room_id, seq, findings)
    ]
    if not rows:
        return
    try:
        await (await session.connection()).execute(insert(SymptomEntry).values(rows))
    except Exception as exc:  # noqa: BLE001 - the history is secondary to the message
        log.warning("symptom findings not stored", extra={"error": type(exc).__name__})


_ENTRY_COLUMNS = (
    "user_id", "room_id", "seq", "symptom", "body_site", "severity", "onset", "duration",
    "duration_days", "negated",
)  # fmt: skip


async def own(session: AsyncSession, user_id: int, *, limit: int = 500) -> list[SymptomView]:
    stmt = (
        select(SymptomEntry)
        .where(SymptomEntry.user_id == user_id)
        .order_by(SymptomEntry.id.desc())
        .limit(limit)
    )
    return [view(e) for e in (await session.execute(stmt)).scalars()]


async def of_patient(
    session: AsyncSession, doctor_id: int, patient_id: int, *, limit: int = 500
) -> list[SymptomView]:
    """A patient's history for a doctor they share a conversation with; the read is
    logged first. Raises NotFound (no such user) or Forbidden (no share)."""
    if await session.get(User, patient_id) is None:
        raise NotFound(f"User {patient_id} does not exist.")
    if patient_id != doctor_id and not await shares.shared_with(session, patient_id, doctor_id):
        raise Forbidden("This patient has not shared a conversation with you.")
    if patient_id != doctor_id:
        await audit.record(
            session, patient_id, doctor_id, audit.Resource.symptoms, audit.Action.read
        )
    return await own(session, patient_id, limit=limit)


async def _owned(session: AsyncSession, user_id: int, entry_id: int) -> SymptomEntry:
    entry = await session.get(SymptomEntry, entry_id)
    if entry is None or entry.user_id != user_id:
        # Another user's entry is "not found" too: entry ids say nothing about anyone.
        raise NotFound(f"You have no symptom entry {entry_id}.")
    return entry


async def add(
    session: AsyncSession, user_id: int, symptom: str, fields: SymptomFields
) -> SymptomView:
    entry = SymptomEntry(
        user_id=user_id,
        symptom=symptom,
        body_site=fields.body_site,
        severity=fields.severity,
        onset=fields.onset,
        duration=fields.duration,
        negated=bool(fields.negated),
    )
    session.add(entry)
    await session.commit()
    await session.refresh(entry)
    return view(entry)


async def correct(
    session: AsyncSession, user_id: int, entry_id: int, fields: SymptomFields
) -> SymptomView:
    """Change the given fields (a field sent as null clears it, except symptom/negated)."""
    entry = await _owned(session, user_id, entry_id)
    for name in fields.model_fields_set:
        value = getattr(fields, name)
        if name in ("symptom", "negated") and value is None:
            continue
        setattr(entry, name, value)
        if name == "duration":
            entry.duration_days = None  # the stated words changed; the parsed days are stale
    entry.updated_at = func.now()
    await session.commit()
    await session.refresh(entry)
    return view(entry)


async def remove(session: AsyncSession, user_id: int, entry_id: int) -> None:
    entry = await _owned(session, user_id, entry_id)
    await session.delete(entry)
    await session.commit()
