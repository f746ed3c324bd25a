"""Clearly fictional doctors for the demo directory (`make run` seeds them).

Every name carries "(fictional)" and every email is under the reserved `.local` domain,
so nobody mistakes the demo directory for real practitioners.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.care.doctors import make_doctor
from domain.security import Passwords
from models import User

DOCTOR_PASSWORD = "parley-doctor"

# (name, email local part, specialty code, city, languages, taking consultations)
DOCTORS: tuple[tuple[str, str, str, str, list[str], bool], ...] = (
    ("Dr. Mira Quill (fictional)", "mira.quill", "dermatology", "Pune", ["en", "hi", "mr"], True),
    ("Dr. Arjun Vale (fictional)", "arjun.vale", "dermatology", "Mumbai", ["en", "hi"], True),
    ("Dr. Lena Brook (fictional)", "lena.brook", "cardiology", "Pune", ["en", "de"], True),
    ("Dr. Ravi Thorn (fictional)", "ravi.thorn", "general_medicine", "Pune", ["en", "hi"], True),
    ("Dr. Noor Fenn (fictional)", "noor.fenn", "gastroenterology", "Delhi", ["en", "ur"], True),
    ("Dr. Ines Marlow (fictional)", "ines.marlow", "neurology", "Bengaluru", ["en", "kn"], False),
    ("Dr. Tomas Reed (fictional)", "tomas.reed", "ent", "Mumbai", ["en", "mr"], True),
)


def email_of(local: str) -> str:
    return f"{local}@doctors.parley.local"


async def seed_doctors(session: AsyncSession, passwords: Passwords) -> int:
    """Add the fictional doctors that are missing; returns how many were added."""
    emails = [email_of(d[1]) for d in DOCTORS]
    existing = set(
        (await session.execute(select(User.email).where(User.email.in_(emails)))).scalars()
    )
    added = 0
    for name, local, specialty, city, languages, available in DOCTORS:
        if email_of(local) in existing:
            continue
        user = User(
            email=email_of(local),
            display_name=name,
            password_hash=passwords.hash_sync(DOCTOR_PASSWORD),
        )
        profile = make_doctor(user, specialty, city, languages, available=available)
        session.add(user)
        await session.flush()
        profile.user_id = user.id
        session.add(profile)
        added += 1
    return added
