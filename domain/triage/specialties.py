"""The specialty table: the single source of truth for specialty codes and display names.

Whatever recommends a specialist (the offline engine here, a language model later) must
name one of these codes; `specialty_by_code` is how an LLM provider validates its output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Code(StrEnum):
    """Specialty codes. A StrEnum so the knowledge tables are checked by mypy."""

    general_medicine = "general_medicine"
    emergency_medicine = "emergency_medicine"
    cardiology = "cardiology"
    pulmonology = "pulmonology"
    gastroenterology = "gastroenterology"
    hepatology = "hepatology"
    neurology = "neurology"
    psychiatry = "psychiatry"
    dermatology = "dermatology"
    ent = "ent"
    ophthalmology = "ophthalmology"
    dentistry = "dentistry"
    orthopedics = "orthopedics"
    rheumatology = "rheumatology"
    endocrinology = "endocrinology"
    nephrology = "nephrology"
    urology = "urology"
    gynecology = "gynecology"
    obstetrics = "obstetrics"
    pediatrics = "pediatrics"
    hematology = "hematology"
    oncology = "oncology"
    infectious_disease = "infectious_disease"
    allergy_immunology = "allergy_immunology"
    general_surgery = "general_surgery"
    vascular_surgery = "vascular_surgery"


@dataclass(frozen=True, slots=True)
class Specialty:
    code: Code
    name: str  # display name, as PROTOCOL.md's triage.specialty.name
    focus: str  # "the heart and blood vessels": completes "points to ..."
    watch_for: str  # signs that should make the person act sooner

    def ref(self) -> dict[str, str]:
        """PROTOCOL.md's `{"code", "name"}` object."""
        return {"code": self.code.value, "name": self.name}


def _table(*rows: Specialty) -> Mapping[str, Specialty]:
    return MappingProxyType({row.code.value: row for row in rows})


_S = Specialty

SPECIALTIES: Mapping[str, Specialty] = _table(
    _S(
        Code.general_medicine,
        "General Physician",
        "general health; a General Physician can examine you and refer you on",
        "a fever above 103 F (39.5 C), symptoms lasting more than a week, or new symptoms",
    ),
    _S(
        Code.emergency_medicine,
        "Emergency Department",
        "an emergency that needs care now",
        "any worsening while you wait for help",
    ),
    _S(
        Code.cardiology,
        "Cardiologist",
        "the heart and blood vessels",
        "chest pain at rest, pain spreading to the arm or jaw, fainting, or breathlessness",
    ),
    _S(
        Code.pulmonology,
        "Pulmonologist (Chest Physician)",
        "the lungs and breathing",
        "breathlessness at rest, blue lips, coughing up blood, or a cough past three weeks",
    ),
    _S(
        Code.gastroenterology,
        "Gastroenterologist",
        "the stomach and intestines",
        "vomiting blood, black or bloody stools, severe belly pain, or weight loss",
    ),
    _S(
        Code.hepatology,
        "Hepatologist (Liver Specialist)",
        "the liver",
        "yellow eyes or skin getting worse, confusion, vomiting blood, or a swelling belly",
    ),
    _S(
        Code.neurology,
        "Neurologist",
        "the brain and nerves",
        "face drooping, arm weakness, slurred speech, a sudden severe headache, or a seizure",
    ),
    _S(
        Code.psychiatry,
        "Psychiatrist",
        "mental health",
        "thoughts of harming yourself or ending your life: seek help at once",
    ),
    _S(
        Code.dermatology,
        "Dermatologist",
        "the skin, hair and nails",
        "a rash with fever, a rash that doesn't fade under a glass, or a spreading red hot area",
    ),
    _S(
        Code.ent,
        "ENT Specialist",
        "the ear, nose and throat",
        "trouble swallowing or breathing, drooling, sudden hearing loss, or a swollen neck",
    ),
    _S(
        Code.ophthalmology,
        "Ophthalmologist (Eye Specialist)",
        "the eyes",
        "sudden loss of vision, a painful red eye, flashes with new floaters, or an eye injury",
    ),
    _S(
        Code.dentistry,
        "Dentist",
        "the teeth and gums",
        "facial swelling, fever with tooth pain, or trouble opening the mouth or swallowing",
    ),
    _S(
        Code.orthopedics,
        "Orthopedic Surgeon",
        "the bones, joints and muscles",
        "a deformed limb, not being able to bear weight, or numbness after an injury",
    ),
    _S(
        Code.rheumatology,
        "Rheumatologist",
        "joint inflammation and autoimmune conditions",
        "a hot swollen joint with fever, or new weakness",
    ),
    _S(
        Code.endocrinology,
        "Endocrinologist",
        "hormones, diabetes and the thyroid",
        "very high or very low blood sugar, confusion, or vomiting with high sugar",
    ),
    _S(
        Code.nephrology,
        "Nephrologist (Kidney Specialist)",
        "the kidneys",
        "passing very little urine, swelling with breathlessness, or confusion",
    ),
    _S(
        Code.urology,
        "Urologist",
        "the urinary tract and male reproductive organs",
        "not being able to pass urine, blood in the urine, or sudden pain in a testicle",
    ),
    _S(
        Code.gynecology,
        "Gynecologist",
        "women's reproductive health",
        "very heavy bleeding, severe pelvic pain, or fainting",
    ),
    _S(
        Code.obstetrics,
        "Obstetrician",
        "pregnancy care",
        "bleeding, severe belly pain, severe headache with blurred vision, or the baby moving less",
    ),
    _S(
        Code.pediatrics,
        "Pediatrician",
        "children's health",
        "a child who is floppy, hard to wake, breathing fast, not drinking, or has a fit",
    ),
    _S(
        Code.hematology,
        "Hematologist",
        "the blood",
        "bleeding that is hard to stop, many bruises without injury, or extreme tiredness",
    ),
    _S(
        Code.oncology,
        "Oncologist",
        "possible cancer (a specialist examines and tests lumps and unexplained weight loss)",
        "a lump that grows, unexplained weight loss, or bleeding without a cause",
    ),
    _S(
        Code.infectious_disease,
        "Infectious Disease Specialist",
        "infections, including long fevers, dengue, malaria, typhoid and tuberculosis",
        "fever past three days, bleeding gums or spots with fever, confusion, or drowsiness",
    ),
    _S(
        Code.allergy_immunology,
        "Allergist / Immunologist",
        "allergies and the immune system",
        "swelling of the lips, tongue or throat, or trouble breathing after a trigger",
    ),
    _S(
        Code.general_surgery,
        "General Surgeon",
        "conditions that may need surgery, such as hernias, appendicitis and piles",
        "belly pain that gets steadily worse, a lump that becomes painful and hard, or fever",
    ),
    _S(
        Code.vascular_surgery,
        "Vascular Surgeon",
        "the arteries and veins",
        "a cold, pale or blue leg or foot, a swollen painful calf, or a wound that won't heal",
    ),
)


def specialty_by_code(code: str) -> Specialty | None:
    """The specialty for `code` (exact code, surrounding space and case ignored), else None.

    Never raises: a model's free-text answer can be passed in as is and checked.
    """
    return SPECIALTIES.get(code.strip().lower())


def specialty(code: Code) -> Specialty:
    """The specialty for a known code (total: every Code has a row)."""
    return SPECIALTIES[code.value]
