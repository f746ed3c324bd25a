"""The specialty table: the single source of truth for codes and display names."""

from __future__ import annotations

import pytest

from domain.triage import SPECIALTIES, Code, specialty_by_code

REQUIRED = [
    "general_medicine",
    "cardiology",
    "pulmonology",
    "gastroenterology",
    "hepatology",
    "neurology",
    "psychiatry",
    "dermatology",
    "ent",
    "ophthalmology",
    "dentistry",
    "orthopedics",
    "rheumatology",
    "endocrinology",
    "nephrology",
    "urology",
    "gynecology",
    "obstetrics",
    "pediatrics",
    "hematology",
    "oncology",
    "infectious_disease",
    "allergy_immunology",
    "general_surgery",
    "vascular_surgery",
]


def test_every_required_specialty_is_there_with_a_name() -> None:
    assert set(REQUIRED) <= set(SPECIALTIES)
    assert len(SPECIALTIES) >= 22
    assert {s.code.value for s in SPECIALTIES.values()} == set(SPECIALTIES) == set(Code)
    assert SPECIALTIES["general_medicine"].name == "General Physician"
    assert SPECIALTIES["cardiology"].name == "Cardiologist"
    assert all(s.name and s.focus and s.watch_for for s in SPECIALTIES.values())


@pytest.mark.parametrize(
    ("code", "name"), [("cardiology", "Cardiologist"), (" ENT ", "ENT Specialist")]
)
def test_lookup_by_code(code: str, name: str) -> None:
    found = specialty_by_code(code)
    assert found is not None and found.name == name
    assert found.ref()["code"] == code.strip().lower()


@pytest.mark.parametrize("code", ["", "heart", "Cardiologist", "cardiology; drop table", "\x00"])
def test_unknown_codes_are_none(code: str) -> None:
    assert specialty_by_code(code) is None


def test_the_table_cannot_be_changed_at_runtime() -> None:
    with pytest.raises(TypeError):
        SPECIALTIES["x"] = SPECIALTIES["ent"]  # type: ignore[index]
