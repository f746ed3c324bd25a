"""Bodies of the doctors, shares, symptom history and access-log resources."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from domain.care.audit import AccessView
from rest.schemas.fields import RowId, Storable

Short = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80), Storable
]


class DoctorProfileIn(BaseModel):
    """A doctor's own profile; every field optional (only the given ones change)."""

    specialty: Annotated[str, StringConstraints(max_length=48), Storable] | None = None
    city: Short | None = None
    languages: (
        Annotated[
            list[Annotated[str, StringConstraints(min_length=2, max_length=32), Storable]],
            Field(max_length=10),
        ]
        | None
    ) = None
    available: bool | None = Field(default=None, description="Taking consultations now.")


class ShareIn(BaseModel):
    doctor_id: RowId
    mode: Literal["read", "participate"] = "read"


class SymptomIn(BaseModel):
    symptom: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), Storable
    ]
    body_site: Short | None = None
    severity: Annotated[int, Field(ge=0, le=10)] | None = None
    onset: Annotated[str, StringConstraints(max_length=32), Storable] | None = None
    duration: Short | None = None
    negated: bool = False


class SymptomPatch(BaseModel):
    """A correction: only the fields sent change; null clears an optional field."""

    symptom: (
        Annotated[
            str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), Storable
        ]
        | None
    ) = None
    body_site: Short | None = None
    severity: Annotated[int, Field(ge=0, le=10)] | None = None
    onset: Annotated[str, StringConstraints(max_length=32), Storable] | None = None
    duration: Short | None = None
    negated: bool | None = None


class AccessPage(BaseModel):
    items: list[AccessView]
    next_before: int | None = Field(description="Pass as `before` for older entries.")
