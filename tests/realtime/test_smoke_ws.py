"""A first end-to-end path: auth, subscribe, send, ack, message."""

from __future__ import annotations

from tests.support import Api


async def test_send_reaches_subscriber_and_sender(api: Api) -> None:
    asha, ravi = await api.user("Asha"), await api.user("Ravi")
    room = await api.room(asha, ravi)
    a, r = await api.ws(asha), await api.ws(ravi)
    await a.subscribe(f"room:{room}")
    await r.subscribe(f"room:{room}")
    ack = await a.send_message(f"room:{room}", "hi", client_id="c1")
    assert ack == {
        "type": "ack",
        "ref": ack["ref"],
        "channel": f"room:{room}",
        "seq": 1,
        "client_id": "c1",
    }
    for client in (a, r):
        (msg,) = await client.messages(1)
        assert msg["seq"] == 1 and msg["body"] == "hi" and msg["author"]["name"] == "Asha"
    await a.close()
    await r.close()
