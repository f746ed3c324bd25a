"""/api/v1/rooms: rooms, membership, invites and read positions.

Membership is checked on every room endpoint: a room that does not exist is 404
`not_found`, a room the caller is not in is 403 `forbidden` (room ids are not secret).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.rest.expect import error_of
from tests.support import Api, User

ROOMS = "/api/v1/rooms"


async def _create(api: Api, owner: User, name: str = "Biology crew", **extra: Any) -> Any:
    r = await api.http.post(ROOMS, json={"name": name, **extra}, headers=owner.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def _join(api: Api, user: User, invite_code: str) -> Any:
    return await api.http.post(
        f"{ROOMS}/join", json={"invite_code": invite_code}, headers=user.headers
    )


async def _get(api: Api, user: User, room_id: int) -> Any:
    return await api.http.get(f"{ROOMS}/{room_id}", headers=user.headers)


# --- create, list, get ---------------------------------------------------------------------


async def test_create_returns_the_room_with_an_invite_code_for_its_owner(api: Api) -> None:
    asha = await api.user("Asha")
    room = await _create(api, asha, "  Biology crew  ")
    assert isinstance(room["id"], int)
    assert room["kind"] == "study_group"
    assert room["name"] == "Biology crew"
    assert room["owner_id"] == asha.id
    assert room["my_role"] == "owner"
    assert isinstance(room["invite_code"], str) and len(room["invite_code"]) >= 8
    assert room["head"] == 0
    assert room["last_read_seq"] == 0
    assert room["created_at"]


async def test_create_rejects_a_blank_name_or_an_unknown_kind(api: Api) -> None:
    asha = await api.user("Asha")
    for payload in ({"name": "   "}, {"name": "x" * 121}, {"name": "Bio", "kind": "channel"}):
        r = await api.http.post(ROOMS, json=payload, headers=asha.headers)
        error_of(r, 422, "invalid")


async def test_create_needs_a_token(api: Api) -> None:
    error_of(await api.http.post(ROOMS, json={"name": "Bio"}), 401, "unauthorized")


async def test_list_shows_only_the_callers_rooms(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    bio = await _create(api, asha, "Biology")
    chem = await _create(api, asha, "Chemistry")
    await _create(api, ravi, "Ravi's own")
    assert (await _join(api, ravi, chem["invite_code"])).status_code == 200

    mine = await api.http.get(ROOMS, headers=asha.headers)
    assert mine.status_code == 200, mine.text
    assert [r["id"] for r in mine.json()] == [bio["id"], chem["id"]]

    ravis = (await api.http.get(ROOMS, headers=ravi.headers)).json()
    assert {r["name"] for r in ravis} == {"Chemistry", "Ravi's own"}
    (joined,) = [r for r in ravis if r["id"] == chem["id"]]
    assert joined["my_role"] == "member"
    assert joined["invite_code"] is None  # only owners and admins see it


async def test_get_returns_the_room_to_a_member(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room_id = await api.room(asha, ravi)
    r = await _get(api, ravi, room_id)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == room_id
    assert r.json()["my_role"] == "member"
    assert r.json()["invite_code"] is None
    owner_view = (await _get(api, asha, room_id)).json()
    assert owner_view["invite_code"]


# --- rename, delete ------------------------------------------------------------------------


async def test_owner_renames_the_room(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room_id = await api.room(asha, ravi)
    r = await api.http.patch(f"{ROOMS}/{room_id}", json={"name": "Zoology"}, headers=asha.headers)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Zoology"
    assert (await _get(api, ravi, room_id)).json()["name"] == "Zoology"


async def test_a_plain_member_cannot_rename_the_room(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room_id = await api.room(asha, ravi, name="Biology")
    r = await api.http.patch(f"{ROOMS}/{room_id}", json={"name": "Mine"}, headers=ravi.headers)
    error_of(r, 403, "forbidden")
    assert (await _get(api, asha, room_id)).json()["name"] == "Biology"


async def test_rename_rejects_a_blank_name(api: Api) -> None:
    asha = await api.user("Asha")
    room_id = await api.room(asha)
    r = await api.http.patch(f"{ROOMS}/{room_id}", json={"name": ""}, headers=asha.headers)
    error_of(r, 422, "invalid")


async def test_owner_deletes_the_room(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room_id = await api.room(asha, ravi)
    await api.post(ravi, room_id, "hello")
    r = await api.http.delete(f"{ROOMS}/{room_id}", headers=asha.headers)
    assert r.status_code == 204, r.text
    assert r.content == b""
    error_of(await _get(api, asha, room_id), 404, "not_found")
    assert (await api.http.get(ROOMS, headers=ravi.headers)).json() == []


async def test_a_plain_member_cannot_delete_the_room(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room_id = await api.room(asha, ravi)
    error_of(await api.http.delete(f"{ROOMS}/{room_id}", headers=ravi.headers), 403, "forbidden")
    assert (await _get(api, asha, room_id)).status_code == 200


# --- join, leave, members ------------------------------------------------------------------


async def test_join_by_invite_code_makes_a_member(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await _create(api, asha)
    r = await _join(api, ravi, room["invite_code"])
    assert r.status_code == 200, r.text
    assert r.json()["id"] == room["id"]
    assert r.json()["my_role"] == "member"
    assert r.json()["invite_code"] is None
    assert (await _get(api, ravi, room["id"])).status_code == 200


async def test_joining_twice_keeps_one_membership(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await _create(api, asha)
    assert (await _join(api, ravi, room["invite_code"])).status_code == 200
    assert (await _join(api, ravi, room["invite_code"])).status_code == 200
    # The owner "joining" their own room stays the owner.
    again = await _join(api, asha, room["invite_code"])
    assert again.status_code == 200 and again.json()["my_role"] == "owner"
    members = (await api.http.get(f"{ROOMS}/{room['id']}/members", headers=asha.headers)).json()
    assert sorted(m["user"]["id"] for m in members) == sorted([asha.id, ravi.id])


async def test_join_with_an_unknown_invite_code_is_not_found(api: Api) -> None:
    ravi = await api.user("Ravi")
    error_of(await _join(api, ravi, "no-such-code"), 404, "not_found")


async def test_join_with_a_malformed_invite_code_is_invalid(api: Api) -> None:
    ravi = await api.user("Ravi")
    error_of(await _join(api, ravi, "x"), 422, "invalid")
    error_of(await _join(api, ravi, "x" * 33), 422, "invalid")


async def test_a_member_leaves(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room_id = await api.room(asha, ravi)
    r = await api.http.post(f"{ROOMS}/{room_id}/leave", headers=ravi.headers)
    assert r.status_code == 204, r.text
    error_of(await _get(api, ravi, room_id), 403, "forbidden")
    members = (await api.http.get(f"{ROOMS}/{room_id}/members", headers=asha.headers)).json()
    assert [m["user"]["id"] for m in members] == [asha.id]


async def test_the_owner_cannot_leave(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room_id = await api.room(asha, ravi)
    error_of(await api.http.post(f"{ROOMS}/{room_id}/leave", headers=asha.headers), 409, "conflict")
    assert (await _get(api, asha, room_id)).json()["my_role"] == "owner"


async def test_members_lists_everyone_with_their_role(api: Api) -> None:
    asha, ravi, meera = await api.user("Asha"), await api.user("Ravi"), await api.user("Meera")
    room_id = await api.room(asha, ravi, meera)
    r = await api.http.get(f"{ROOMS}/{room_id}/members", headers=meera.headers)
    assert r.status_code == 200, r.text
    members = r.json()
    assert [(m["user"]["id"], m["user"]["name"], m["role"]) for m in members] == [
        (asha.id, "Asha", "owner"),
        (ravi.id, "Ravi", "member"),
        (meera.id, "Meera", "member"),
    ]
    for m in members:
        assert set(m) == {"user", "role", "last_read_seq", "joined_at"}
        assert m["last_read_seq"] == 0


# --- membership is checked on every room endpoint ------------------------------------------

# (method, path under /rooms/{id}, json body)
MEMBER_ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "", None),
    ("PATCH", "", {"name": "Hijacked"}),
    ("DELETE", "", None),
    ("POST", "/leave", None),
    ("GET", "/members", None),
    ("GET", "/messages", None),
    ("POST", "/messages", {"body": "let me in", "client_id": "intruder-1"}),
    ("PUT", "/read", {"seq": 0}),
]
ENDPOINT_IDS = [f"{m} {p or '/'}" for m, p, _ in MEMBER_ENDPOINTS]


@pytest.mark.parametrize(("method", "path", "body"), MEMBER_ENDPOINTS, ids=ENDPOINT_IDS)
async def test_a_non_member_is_forbidden(
    api: Api, method: str, path: str, body: dict[str, Any] | None
) -> None:
    asha, ravi, eve = await api.user("Asha"), await api.user("Ravi"), await api.user("Eve")
    room_id = await api.room(asha, ravi, name="Biology")
    await api.post(asha, room_id, "private")
    r = await api.http.request(method, f"{ROOMS}/{room_id}{path}", json=body, headers=eve.headers)
    error = error_of(r, 403, "forbidden")
    assert "private" not in r.text, error
    # Nothing changed for the members.
    room = (await _get(api, asha, room_id)).json()
    assert room["name"] == "Biology" and room["head"] == 1


@pytest.mark.parametrize(("method", "path", "body"), MEMBER_ENDPOINTS, ids=ENDPOINT_IDS)
async def test_an_unknown_room_is_not_found(
    api: Api, method: str, path: str, body: dict[str, Any] | None
) -> None:
    asha = await api.user("Asha")
    room_id = await api.room(asha)
    missing = room_id + 1000
    r = await api.http.request(method, f"{ROOMS}/{missing}{path}", json=body, headers=asha.headers)
    error_of(r, 404, "not_found")


@pytest.mark.parametrize(("method", "path", "body"), MEMBER_ENDPOINTS, ids=ENDPOINT_IDS)
async def test_every_room_endpoint_needs_a_token(
    api: Api, method: str, path: str, body: dict[str, Any] | None
) -> None:
    asha = await api.user("Asha")
    room_id = await api.room(asha)
    r = await api.http.request(method, f"{ROOMS}/{room_id}{path}", json=body)
    error_of(r, 401, "unauthorized")


async def test_a_former_member_loses_access(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room_id = await api.room(asha, ravi)
    await api.post(asha, room_id, "before")
    assert (
        await api.http.post(f"{ROOMS}/{room_id}/leave", headers=ravi.headers)
    ).status_code == 204
    r = await api.http.get(f"{ROOMS}/{room_id}/messages", headers=ravi.headers)
    error_of(r, 403, "forbidden")
    r = await api.http.post(
        f"{ROOMS}/{room_id}/messages",
        json={"body": "after", "client_id": "ravi-after"},
        headers=ravi.headers,
    )
    error_of(r, 403, "forbidden")


# --- bot conversations ---------------------------------------------------------------------


async def test_a_bot_conversation_is_private_to_its_owner(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    bot = await _create(api, asha, "Ask the tutor", kind="bot_conversation")
    assert bot["kind"] == "bot_conversation"
    assert bot["my_role"] == "owner"
    assert bot["invite_code"] is None

    assert [r["id"] for r in (await api.http.get(ROOMS, headers=asha.headers)).json()] == [
        bot["id"]
    ]
    assert (await api.http.get(ROOMS, headers=ravi.headers)).json() == []
    error_of(await _get(api, ravi, bot["id"]), 403, "forbidden")
    r = await api.http.get(f"{ROOMS}/{bot['id']}/messages", headers=ravi.headers)
    error_of(r, 403, "forbidden")
    members = (await api.http.get(f"{ROOMS}/{bot['id']}/members", headers=asha.headers)).json()
    assert [m["user"]["id"] for m in members] == [asha.id]


# --- read positions ------------------------------------------------------------------------


async def _read(api: Api, user: User, room_id: int, seq: int) -> Any:
    return await api.http.put(f"{ROOMS}/{room_id}/read", json={"seq": seq}, headers=user.headers)


async def test_read_position_is_stored_per_member(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room_id = await api.room(asha, ravi)
    for i in range(3):
        await api.post(asha, room_id, f"m{i}")

    r = await _read(api, ravi, room_id, 2)
    assert r.status_code == 200, r.text
    assert r.json() == {"last_read_seq": 2}
    assert (await _get(api, ravi, room_id)).json()["last_read_seq"] == 2
    assert (await _get(api, asha, room_id)).json()["last_read_seq"] == 0
    members = (await api.http.get(f"{ROOMS}/{room_id}/members", headers=asha.headers)).json()
    assert {m["user"]["id"]: m["last_read_seq"] for m in members} == {asha.id: 0, ravi.id: 2}


async def test_read_position_never_moves_backwards(api: Api) -> None:
    asha = await api.user("Asha")
    room_id = await api.room(asha)
    for i in range(3):
        await api.post(asha, room_id, f"m{i}")
    assert (await _read(api, asha, room_id, 3)).json() == {"last_read_seq": 3}
    r = await _read(api, asha, room_id, 1)
    assert r.status_code == 200, r.text
    assert r.json() == {"last_read_seq": 3}
    assert (await _get(api, asha, room_id)).json()["last_read_seq"] == 3


async def test_read_position_beyond_the_head_is_invalid(api: Api) -> None:
    asha = await api.user("Asha")
    room_id = await api.room(asha)
    await api.post(asha, room_id, "only one")
    error_of(await _read(api, asha, room_id, 2), 422, "invalid")
    error_of(await _read(api, asha, room_id, -1), 422, "invalid")
    assert (await _get(api, asha, room_id)).json()["last_read_seq"] == 0


async def test_read_position_zero_in_an_empty_room_is_accepted(api: Api) -> None:
    asha = await api.user("Asha")
    room_id = await api.room(asha)
    r = await _read(api, asha, room_id, 0)
    assert r.status_code == 200, r.text
    assert r.json() == {"last_read_seq": 0}
