"""Admission control on REST: an overloaded worker answers a message POST at once with 503
`unavailable` and `Retry-After` in the error schema, stores nothing, keeps serving reads,
and takes the same POST again once its event loop caught up (docs/decisions/0026).

The stimulus is real: the server runs in this test's process and event loop, so blocking
the loop makes the server's loop lag exactly as a CPU-bound worker would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import ApiFactory
from tests.support import Api, stall_event_loop

BOUND_MS = 100
STALL_SECONDS = 2.0


@pytest.fixture
async def overloadable(api_with: ApiFactory) -> AsyncIterator[Api]:
    async with api_with(admission_lag_ms=BOUND_MS) as api:
        yield api


async def test_a_message_post_is_refused_with_retry_after_and_reads_still_served(
    overloadable: Api,
) -> None:
    api = overloadable
    asha = await api.user("Asha")
    room = await api.room(asha)
    stored = await api.post(asha, room, "before the stall", client_id="c-before")
    url = f"/api/v1/rooms/{room}/messages"
    body = {"body": "during the stall", "client_id": "c-during"}

    stall_event_loop(STALL_SECONDS)  # the server's loop (this loop) cannot run meanwhile
    refused, history = await asyncio.gather(
        api.http.post(url, json=body, headers=asha.headers),
        api.http.get(url, headers=asha.headers),
    )
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "unavailable"
    assert 1 <= int(refused.headers["Retry-After"]) <= 10
    assert history.status_code == 200
    assert [m["client_id"] for m in history.json()["items"]] == ["c-before"]

    # The same POST after the hint is taken once the loop caught up, and stored once.
    async with asyncio.timeout(30):
        while True:
            again = await api.http.post(url, json=body, headers=asha.headers)
            if again.status_code != 503:
                break
            await asyncio.sleep(int(again.headers["Retry-After"]))
    assert again.status_code == 201, again.text
    items = (await api.http.get(url, headers=asha.headers)).json()["items"]
    assert [(m["client_id"], m["seq"]) for m in items] == [
        ("c-before", stored["seq"]),
        ("c-during", again.json()["seq"]),
    ]


async def test_overload_is_answered_before_authentication(overloadable: Api) -> None:
    """Shedding must not cost the token check's database round trip: even a request with
    no token gets the 503 (it learns nothing about the request from it)."""
    asha = await overloadable.user("Asha")
    room = await overloadable.room(asha)
    stall_event_loop(STALL_SECONDS)
    anonymous: httpx.Response = await overloadable.http.post(
        f"/api/v1/rooms/{room}/messages", json={"body": "hi"}
    )
    assert anonymous.status_code == 503
    assert "Retry-After" in anonymous.headers
