"""Schemathesis against the real server: no input gives a 500, every answer is documented.

Every operation of the published OpenAPI document is fuzzed over real HTTP (the app under
uvicorn, real PostgreSQL and Redis), once anonymously and once with a valid token of a user
who owns a room and a quiz, so generated ids sometimes hit real rows. Checks: no 5xx
(`not_a_server_error`), every status is declared for its operation
(`status_code_conformance`), every body matches its declared schema
(`response_schema_conformance`). The run is seeded (derandomized) and bounded, so it is the
same run every time and a failure reproduces.

SSE streams (`.../events`) are left out: with a valid token they never end, which is their
contract, not a defect; their parameter validation is covered in test_limits.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import Api

MAX_EXAMPLES = 25  # per operation and run: the two runs take ~15 s on 2 cores
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def fuzz(spec: dict[str, Any], base_url: str, headers: dict[str, str]) -> list[str]:
    """Run every operation's examples; the failures, one line each (empty: all passed)."""
    schema = schemathesis.openapi.from_dict(spec)
    failures: list[str] = []
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # our own schema must be valid
        operations.append(result.ok())
    # Logging out revokes the token the authenticated run uses: it goes last.
    operations.sort(key=lambda op: op.path.endswith("/auth/logout"))
    for operation in operations:
        if operation.path.endswith("/events") or not operation.path.startswith("/api/"):
            continue

        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=10)

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    return failures


async def _owner_with_content(api: Api) -> dict[str, str]:
    asha = await api.user("Asha")
    room_id = await api.room(asha)
    await api.post(asha, room_id, "hello")
    quiz = await api.http.post(
        f"/api/v1/rooms/{room_id}/quizzes",
        json={
            "title": "Cells",
            "subject": "biology",
            "questions": [
                {
                    "subject": "biology",
                    "topic": "Cell",
                    "difficulty": "easy",
                    "prompt": "Powerhouse of the cell?",
                    "options": ["Mitochondria", "Nucleus", "Ribosome", "Golgi body"],
                    "correct_index": 0,
                }
            ],
        },
        headers=asha.headers,
    )
    assert quiz.status_code == 201, quiz.text
    return asha.headers


@pytest.mark.timeout(240)
@pytest.mark.parametrize("caller", ["anonymous", "authenticated"])
async def test_no_generated_request_gets_a_500_or_an_undocumented_answer(
    api: Api, caller: str
) -> None:
    spec = (await api.http.get("/openapi.json")).json()
    headers = await _owner_with_content(api) if caller == "authenticated" else {}
    # Schemathesis speaks synchronous HTTP; the server runs on this event loop.
    failures = await asyncio.to_thread(fuzz, spec, str(api.http.base_url), headers)
    assert not failures, "\n\n".join(failures)
