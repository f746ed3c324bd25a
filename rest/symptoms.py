"""/api/v1/me/symptoms (the owner's symptom history) and /api/v1/patients/{id}/symptoms
(a doctor the patient shares a conversation with; every read is in the access log)."""

from __future__ import annotations

from fastapi import APIRouter, status

from domain.care import symptoms
from domain.care.symptoms import SymptomFields, SymptomView
from edge.errors import error_responses
from edge.params import IdPath
from rest.deps import AuthFirstRoute, CurrentUser, SessionDep
from rest.schemas.care import SymptomIn, SymptomPatch

router = APIRouter(tags=["symptoms"], route_class=AuthFirstRoute)


@router.get("/me/symptoms", response_model=list[SymptomView], responses=error_responses(401))
async def my_symptoms(user: CurrentUser, session: SessionDep) -> list[SymptomView]:
    """Newest first (the latest 500)."""
    return await symptoms.own(session, user.id)


@router.post(
    "/me/symptoms",
    status_code=status.HTTP_201_CREATED,
    response_model=SymptomView,
    responses=error_responses(400, 401),
)
async def add_symptom(body: SymptomIn, user: CurrentUser, session: SessionDep) -> SymptomView:
    fields = SymptomFields.model_validate(body.model_dump())
    return await symptoms.add(session, user.id, body.symptom, fields)


@router.patch(
    "/me/symptoms/{entry_id:int}",
    response_model=SymptomView,
    responses=error_responses(400, 401, 404),
)
async def correct_symptom(
    entry_id: IdPath, body: SymptomPatch, user: CurrentUser, session: SessionDep
) -> SymptomView:
    fields = SymptomFields.model_validate(body.model_dump(exclude_unset=True))
    return await symptoms.correct(session, user.id, entry_id, fields)


@router.delete(
    "/me/symptoms/{entry_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 404),
)
async def delete_symptom(entry_id: IdPath, user: CurrentUser, session: SessionDep) -> None:
    await symptoms.remove(session, user.id, entry_id)


@router.get(
    "/patients/{patient_id:int}/symptoms",
    response_model=list[SymptomView],
    responses=error_responses(401, 403, 404),
)
async def patient_symptoms(
    patient_id: IdPath, user: CurrentUser, session: SessionDep
) -> list[SymptomView]:
    """A doctor with a share from this patient (403 otherwise). Logged for the patient."""
    return await symptoms.of_patient(session, user.id, patient_id)
