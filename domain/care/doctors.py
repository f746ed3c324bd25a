"""The directory of doctors: profiles of users with the `doctor` role.

Doctors are not self-registered (registration offers student and patient only): an
operator creates them (`make_doctor`, used by the seed). A doctor edits their own profile.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import Forbidden, Invalid
from domain.triage import specialty_by_code
from models import DoctorProfile, Role, User

MAX_LISTED = 3  # doctors a bot answer lists


class DoctorCard(BaseModel):
    """A doctor as the directory and a bot answer show them (no contact data)."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    specialty: str
    city: str
    languages: list[str]
    available: bool


def card(user: User, profile: DoctorProfile) -> DoctorCard:
    return DoctorCard(
        id=user.id,
        name=user.display_name,
        specialty=profile.specialty,
        city=profile.city,
        languages=list(profile.languages),
        available=profile.available,
    )


def check_specialty(code: str) -> str:
    found = specialty_by_code(code)
    if found is None:
        raise Invalid(f"{code[:48]!r} is not a specialty code (see the bot's specialty table).")
    return found.code.value


async def search(
    session: AsyncSession,
    *,
    specialty: str | None = None,
    city: str | None = None,
    available: bool | None = None,
    limit: int = 50,
) -> list[DoctorCard]:
    """Doctors matching every given filter (city case-insensitively), by name."""
    stmt = select(User, DoctorProfile).join(DoctorProfile, DoctorProfile.user_id == User.id)
    stmt = stmt.where(User.is_active.is_(True), User.role == Role.doctor)
    if specialty is not None:
        stmt = stmt.where(DoctorProfile.specialty == specialty)
    if city is not None:
        stmt = stmt.where(DoctorProfile.city.ilike(city.replace("%", r"\%").replace("_", r"\_")))
    if available is not None:
        stmt = stmt.where(DoctorProfile.available.is_(available))
    stmt = stmt.order_by(User.display_name, User.id).limit(limit)
    return [card(u, p) for u, p in (await session.execute(stmt)).all()]


async def for_answer(session: AsyncSession, specialty: str) -> list[DoctorCard]:
    """Up to three available doctors of a specialty, for a bot answer."""
    return await search(session, specialty=specialty, available=True, limit=MAX_LISTED)


async def update_own(
    session: AsyncSession,
    user: User,
    *,
    specialty: str | None,
    city: str | None,
    languages: list[str] | None,
    available: bool | None,
) -> DoctorCard:
    """A doctor edits their profile. Raises Forbidden (not a doctor), Invalid (specialty)."""
    if user.role is not Role.doctor:
        raise Forbidden("Only doctors have a directory profile.")
    profile = await session.get(DoctorProfile, user.id)
    if profile is None:
        profile = DoctorProfile(
            user_id=user.id, specialty="general_medicine", city="", languages=[], available=False
        )
        session.add(profile)
    if specialty is not None:
        profile.specialty = check_specialty(specialty)
    if city is not None:
        profile.city = city
    if languages is not None:
        profile.languages = languages
    if available is not None:
        profile.available = available
    await session.commit()
    return card(user, profile)


def make_doctor(
    user: User, specialty: str, city: str, languages: list[str], *, available: bool = True
) -> DoctorProfile:
    """Make `user` a doctor; the caller sets the profile's user_id once the user has an id."""
    user.role = Role.doctor
    return DoctorProfile(
        specialty=check_specialty(specialty), city=city, languages=languages, available=available
    )
