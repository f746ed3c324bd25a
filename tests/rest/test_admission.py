"""Admission control on REST: an overloaded worker answers a message POST at once with 503
`unavailable` and `Retry-After` in the error schema, stores nothing, keeps serving reads,
and takes the same POST again once its event loop caught up (docs/decisions/0026).

The stimulus is real: the server runs in this test's process and event loop, and
`lagging_event_loop` saturates that loop, as CPU-bound work saturates a worker's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.conftest import ApiFactory
from tests.support import Api, lagging_event_loop

BOUND_MS = 100


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
    url = f"/api/v1/rooms/{room}/messages?limit=200"
    acked: list[str] = []
    async with lagging_event_loop(), asyncio.timeout(60):
        for n in range(1000):
            body = {"body": f"body c{n}", "client_id": f"c{n}"}
            refused = await api.http.post(url, json=body, headers=asha.headers)
            if refused.status_code == 201:
                acked.append(f"c{n}")
                continue
            break
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "unavailable"
        assert 1 <= int(refused.headers["Retry-After"]) <= 10
        # Still overloaded: reads are served, and show only what was acked.
        page = await api.http.get(url, headers=asha.headers)
        assert page.status_code == 200
        assert [m["client_id"] for m in page.json()["items"]] == acked

    # The same POST after the hint is taken once the loop caught up, and stored once.
    again = refused
    async with asyncio.timeout(30):
        while again.status_code == 503:
            await asyncio.sleep(int(again.headers["Retry-After"]))
            again = await api.http.post(url, json=body, headers=asha.headers)
    assert again.status_code == 201, again.text
    items = (await api.http.get(url, headers=asha.headers)).json()["items"]
    assert [m["client_id"] for m in items] == [*acked, body["client_id"]]
    assert items[-1]["seq"] == again.json()["seq"]


async def test_overload_is_answered_before_authentication(overloadable: Api) -> None:
    """Shedding must not cost the token check's database round trip: a request with no
    token gets the 503 too (it learns nothing about the request from it)."""
    asha = await overloadable.user("Asha")
    room = await overloadable.room(asha)
    async with lagging_event_loop(), asyncio.timeout(60):
        while True:
            anonymous = await overloadable.http.post(
                f"/api/v1/rooms/{room}/messages", json={"body": "hi"}
            )
            if anonymous.status_code != 401:
                break
    assert anonymous.status_code == 503
    assert "Retry-After" in anonymous.headers
