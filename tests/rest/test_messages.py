"""/api/v1/rooms/{id}/messages: sending (idempotent by client_id) and history by seq.

PROTOCOL.md: a REST message has the fields of the `message` event; a repeated client_id
answers 200 with the first message; history is ascending by seq, `after=N` gives the first
`limit` with seq > N, `before=N` the last `limit` with seq < N, neither the latest `limit`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest

from tests.rest.expect import error_of
from tests.support import Api, User


def _messages(room_id: int) -> str:
    return f"/api/v1/rooms/{room_id}/messages"


async def _send(api: Api, user: User, room_id: int, body: str, client_id: str | None = None) -> Any:
    payload: dict[str, Any] = {"body": body}
    if client_id is not None:
        payload["client_id"] = client_id
    return await api.http.post(_messages(room_id), json=payload, headers=user.headers)


async def _history(api: Api, user: User, room_id: int, **params: int) -> Any:
    r = await api.http.get(_messages(room_id), params=params, headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()


# --- sending -------------------------------------------------------------------------------


async def test_post_stores_the_message_and_returns_it(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room_id = await api.room(asha, ravi)
    r = await _send(api, asha, room_id, "  Mitochondria is the powerhouse  ", "c-1")
    assert r.status_code == 201, r.text
    msg = r.json()
    assert set(msg) == {"id", "seq", "author", "body", "client_id", "created_at"}
    assert isinstance(msg["id"], int)
    assert msg["seq"] == 1
    assert msg["author"] == {"id": asha.id, "name": "Asha"}
    assert msg["body"] == "Mitochondria is the powerhouse"
    assert msg["client_id"] == "c-1"
    assert datetime.fromisoformat(msg["created_at"]).tzinfo is not None

    page = await _history(api, ravi, room_id)
    assert page["items"] == [msg]
    assert page["head"] == 1
    room = (await api.http.get(f"/api/v1/rooms/{room_id}", headers=ravi.headers)).json()
    assert room["head"] == 1


async def test_seq_counts_up_per_room(api: Api) -> None:
    asha = await api.user("Asha")
    bio, chem = await api.room(asha, name="Bio"), await api.room(asha, name="Chem")
    assert [(await api.post(asha, bio, f"b{i}"))["seq"] for i in range(3)] == [1, 2, 3]
    assert (await api.post(asha, chem, "c0"))["seq"] == 1


async def test_a_message_without_client_id_is_stored_each_time(api: Api) -> None:
    asha = await api.user("Asha")
    room_id = await api.room(asha)
    first = await _send(api, asha, room_id, "same words")
    second = await _send(api, asha, room_id, "same words")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["client_id"] is None
    assert (first.json()["seq"], second.json()["seq"]) == (1, 2)


async def test_the_same_client_id_again_answers_200_with_the_first_message(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room_id = await api.room(asha, ravi)
    first = await _send(api, asha, room_id, "hello", "retry-me")
    assert first.status_code == 201, first.text
    await api.post(ravi, room_id, "in between")

    again = await _send(api, asha, room_id, "hello", "retry-me")
    assert again.status_code == 200, again.text
    assert again.json() == first.json()

    page = await _history(api, asha, room_id)
    assert [(m["seq"], m["client_id"]) for m in page["items"]] == [
        (1, "retry-me"),
        (2, page["items"][1]["client_id"]),
    ]
    assert page["head"] == 2  # the retry took no seq


async def test_client_ids_belong_to_their_author(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room_id = await api.room(asha, ravi)
    a = await _send(api, asha, room_id, "from asha", "shared-id")
    r = await _send(api, ravi, room_id, "from ravi", "shared-id")
    assert (a.status_code, r.status_code) == (201, 201)
    assert r.json()["seq"] == 2 and r.json()["author"]["id"] == ravi.id


async def test_the_same_client_id_in_another_room_conflicts(api: Api) -> None:
    asha = await api.user("Asha")
    bio, chem = await api.room(asha, name="Bio"), await api.room(asha, name="Chem")
    assert (await _send(api, asha, bio, "hello", "once")).status_code == 201
    error_of(await _send(api, asha, chem, "hello", "once"), 409, "conflict")
    assert (await _history(api, asha, chem))["items"] == []


async def test_concurrent_retries_of_one_client_id_store_one_message(api: Api) -> None:
    asha = await api.user("Asha")
    room_id = await api.room(asha)
    replies = await asyncio.gather(*(_send(api, asha, room_id, "dup", "same") for _ in range(8)))
    assert sorted(r.status_code for r in replies) == [200] * 7 + [201], [r.text for r in replies]
    assert {r.json()["id"] for r in replies} == {replies[0].json()["id"]}
    page = await _history(api, asha, room_id)
    assert [m["seq"] for m in page["items"]] == [1]
    assert page["head"] == 1


@pytest.mark.parametrize("body", ["", "   \n\t "], ids=["empty", "whitespace"])
async def test_an_empty_body_is_invalid(api: Api, body: str) -> None:
    asha = await api.user("Asha")
    room_id = await api.room(asha)
    error_of(await _send(api, asha, room_id, body, "empty"), 422, "invalid")
    assert (await _history(api, asha, room_id))["items"] == []


async def test_a_body_over_4000_characters_is_too_large(api: Api) -> None:
    asha = await api.user("Asha")
    room_id = await api.room(asha)
    error_of(await _send(api, asha, room_id, "x" * 4001, "big"), 413, "too_large")
    assert (await _history(api, asha, room_id))["head"] == 0
    at_limit = await _send(api, asha, room_id, "y" * 4000, "at-limit")
    assert at_limit.status_code == 201, at_limit.text


@pytest.mark.parametrize("client_id", ["", "x" * 65])
async def test_a_client_id_of_bad_length_is_invalid(api: Api, client_id: str) -> None:
    asha = await api.user("Asha")
    room_id = await api.room(asha)
    error_of(await _send(api, asha, room_id, "hi", client_id), 422, "invalid")


async def test_send_needs_a_token(api: Api) -> None:
    asha = await api.user("Asha")
    room_id = await api.room(asha)
    r = await api.http.post(_messages(room_id), json={"body": "hi", "client_id": "anon"})
    error_of(r, 401, "unauthorized")


# --- history -------------------------------------------------------------------------------


@pytest.fixture
async def seven(api: Api) -> tuple[User, int]:
    """A room whose history is seq 1..7, bodies m1..m7."""
    asha = await api.user("Asha")
    room_id = await api.room(asha)
    for i in range(1, 8):
        await api.post(asha, room_id, f"m{i}")
    return asha, room_id


@pytest.mark.parametrize(
    ("params", "seqs", "has_more"),
    [
        ({"limit": 3}, [5, 6, 7], True),
        ({"after": 0, "limit": 3}, [1, 2, 3], True),
        ({"after": 3, "limit": 3}, [4, 5, 6], True),
        ({"after": 4, "limit": 3}, [5, 6, 7], False),
        ({"after": 6, "limit": 3}, [7], False),
        ({"after": 7, "limit": 3}, [], False),
        ({"after": 100, "limit": 3}, [], False),
        ({"before": 8, "limit": 3}, [5, 6, 7], True),
        ({"before": 5, "limit": 3}, [2, 3, 4], True),
        ({"before": 4, "limit": 3}, [1, 2, 3], False),
        ({"before": 2, "limit": 3}, [1], False),
        ({"before": 1, "limit": 3}, [], False),
        ({}, [1, 2, 3, 4, 5, 6, 7], False),
        ({"limit": 7}, [1, 2, 3, 4, 5, 6, 7], False),
        ({"limit": 200}, [1, 2, 3, 4, 5, 6, 7], False),
    ],
    ids=lambda v: repr(v).replace(" ", ""),
)
async def test_history_pages(
    api: Api, seven: tuple[User, int], params: dict[str, int], seqs: list[int], has_more: bool
) -> None:
    asha, room_id = seven
    page = await _history(api, asha, room_id, **params)
    assert [m["seq"] for m in page["items"]] == seqs
    assert [m["body"] for m in page["items"]] == [f"m{s}" for s in seqs]
    assert page["has_more"] is has_more
    assert page["head"] == 7


async def test_paging_backwards_from_the_latest_reaches_every_message_once(
    api: Api, seven: tuple[User, int]
) -> None:
    asha, room_id = seven
    seen: list[int] = []
    page = await _history(api, asha, room_id, limit=3)
    while True:
        seen = [m["seq"] for m in page["items"]] + seen
        if not page["has_more"]:
            break
        page = await _history(api, asha, room_id, before=page["items"][0]["seq"], limit=3)
    assert seen == [1, 2, 3, 4, 5, 6, 7]


async def test_paging_forwards_from_zero_reaches_every_message_once(
    api: Api, seven: tuple[User, int]
) -> None:
    asha, room_id = seven
    seen: list[int] = []
    after = 0
    while True:
        page = await _history(api, asha, room_id, after=after, limit=3)
        seen += [m["seq"] for m in page["items"]]
        if not page["has_more"]:
            break
        after = page["items"][-1]["seq"]
    assert seen == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize(
    "params",
    [{"limit": 201}, {"limit": 0}, {"after": -1}, {"before": 0}, {"limit": "many"}],
    ids=["limit-201", "limit-0", "after-negative", "before-0", "limit-not-int"],
)
async def test_history_rejects_out_of_range_parameters(api: Api, params: dict[str, Any]) -> None:
    asha = await api.user("Asha")
    room_id = await api.room(asha)
    r = await api.http.get(_messages(room_id), params=params, headers=asha.headers)
    error_of(r, 422, "invalid")


async def test_an_empty_room_has_an_empty_history(api: Api) -> None:
    asha = await api.user("Asha")
    room_id = await api.room(asha)
    assert await _history(api, asha, room_id) == {"items": [], "head": 0, "has_more": False}


# --- concurrency ---------------------------------------------------------------------------


async def test_concurrent_posts_get_every_seq_exactly_once(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room_id = await api.room(asha, ravi)
    replies = await asyncio.gather(
        *(
            _send(api, asha if i % 2 == 0 else ravi, room_id, f"burst {i}", f"burst-{i}")
            for i in range(20)
        )
    )
    assert [r.status_code for r in replies] == [201] * 20, [r.text for r in replies]
    assert sorted(r.json()["seq"] for r in replies) == list(range(1, 21))

    page = await _history(api, asha, room_id, limit=50)
    assert [m["seq"] for m in page["items"]] == list(range(1, 21))
    assert sorted(m["client_id"] for m in page["items"]) == sorted(f"burst-{i}" for i in range(20))
    assert page["head"] == 20
