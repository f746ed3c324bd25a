"""Presence (who is online), join/leave and typing indicators."""

from __future__ import annotations

from tests.support import Api


async def test_presence_lists_everyone_subscribed_including_the_receiver(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    a = await api.ws(asha)
    await a.subscribe(f"room:{room}")
    r = await api.ws(ravi)
    reply = await r.request({"type": "subscribe", "channel": f"room:{room}"})
    assert reply["type"] == "subscribed"
    presence = await r.recv()
    assert presence == {
        "type": "presence",
        "channel": f"room:{room}",
        "online": [{"id": asha.id, "name": "Asha"}, {"id": ravi.id, "name": "Ravi"}],
        "count": 2,
    }
    await a.close()
    await r.close()


async def test_join_on_first_connection_and_leave_on_last(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    channel = f"room:{room}"
    a = await api.ws(asha)
    await a.subscribe(channel)
    # Every subscriber sees a join, the joiner's own connection included.
    assert (await a.expect("join", skip=frozenset({"presence"})))["user"]["id"] == asha.id
    r1 = await api.ws(ravi)
    await r1.subscribe(channel)
    assert (await a.expect("join", skip=frozenset({"presence"})))["user"]["id"] == ravi.id
    r2 = await api.ws(ravi)
    await r2.subscribe(channel)  # a second device: no second join
    await r1.close()  # one device left: no leave yet
    await r2.close()  # last device gone: leave
    leave = await a.expect("leave", skip=frozenset({"presence"}))
    assert leave == {"type": "leave", "channel": channel, "user": {"id": ravi.id, "name": "Ravi"}}
    await a.send({"type": "ping", "ref": "end"})
    assert (await a.expect("pong", skip=frozenset())) == {"type": "pong", "ref": "end"}
    await a.close()


async def test_typing_reaches_others_and_is_throttled(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    channel = f"room:{room}"
    a, r = await api.ws(asha), await api.ws(ravi)
    await a.subscribe(channel)
    await r.subscribe(channel)
    for _ in range(5):
        await a.send({"type": "typing", "channel": channel})
    await a.send_message(channel, "done typing")
    frames: list[dict[str, object]] = []
    while not frames or frames[-1]["type"] != "message":
        frames.append(await r.recv())
    typing = [f for f in frames if f["type"] == "typing"]
    assert typing == [
        {"type": "typing", "channel": channel, "user": {"id": asha.id, "name": "Asha"}}
    ]
    await a.close()
    await r.close()


async def test_typing_needs_a_subscription(api: Api) -> None:
    asha = await api.user()
    room = await api.room(asha)
    ws = await api.ws(asha)
    await ws.send({"type": "typing", "channel": f"room:{room}", "ref": "t"})
    assert (await ws.expect("error"))["code"] == "forbidden"
    await ws.close()


async def test_subscribing_again_is_not_a_second_join(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    channel = f"room:{room}"
    a, r = await api.ws(asha), await api.ws(ravi)
    await a.subscribe(channel)
    assert (await a.expect("join", skip=frozenset({"presence"})))["user"]["id"] == asha.id
    await r.subscribe(channel)
    assert (await a.expect("join", skip=frozenset({"presence"})))["user"]["id"] == ravi.id
    await r.subscribe(channel, since=0)  # e.g. to replay: Ravi never left
    await a.send({"type": "ping", "ref": "after"})
    assert (await a.expect("pong", skip=frozenset({"presence"})))["ref"] == "after"
    await a.close()
    await r.close()
