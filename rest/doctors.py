"""/api/v1/doctors: the directory of doctors, and a doctor's own profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from domain.care import doctors
from domain.care.doctors import DoctorCard
from edge.errors import error_responses
from rest.deps import AuthFirstRoute, CurrentUser, SessionDep
from rest.schemas.care import DoctorProfileIn

router = APIRouter(prefix="/doctors", tags=["doctors"], route_class=AuthFirstRoute)


@router.get("", response_model=list[DoctorCard], responses=error_responses(401))
async def search_doctors(
    user: CurrentUser,
    session: SessionDep,
    specialty: Annotated[str | None, Query(max_length=48, description="A specialty code.")] = None,
    city: Annotated[str | None, Query(max_length=80, description="Exact, any case.")] = None,
    available: Annotated[bool | None, Query(description="Taking consultations.")] = None,
) -> list[DoctorCard]:
    """Any signed-in user. An unknown specialty code is 422 `invalid`."""
    code = doctors.check_specialty(specialty) if specialty is not None else None
    return await doctors.search(session, specialty=code, city=city, available=available)


@router.put("/me", response_model=DoctorCard, responses=error_responses(400, 401, 403))
async def update_my_profile(
    body: DoctorProfileIn, user: CurrentUser, session: SessionDep
) -> DoctorCard:
    """Doctors only (403 otherwise). Only the fields sent change."""
    return await doctors.update_own(
        session,
        user,
        specialty=body.specialty,
        city=body.city,
        languages=body.languages,
        available=body.available,
    )
