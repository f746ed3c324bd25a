"""The client honours an overloaded server's retry-after hint: a send refused with
`unavailable` + `retry_after` is resent with the same client id no sooner than the hint,
and is acked and stored once (docs/protocol.md §5, docs/decisions/0026)."""

from __future__ import annotations

import asyncio
import random

from client import Backoff, ParleyClient, RestTokens
from client.errors import MAX_RETRY_AFTER, ProtocolError
from client.sends import PendingSend
from tests.client.conftest import until
from tests.conftest import ApiFactory
from tests.support import lagging_event_loop


async def test_a_send_refused_for_overload_is_retried_and_stored_once(
    api_with: ApiFactory,
) -> None:
    async with api_with(admission_lag_ms=100) as api:
        asha = await api.user("Asha")
        room = await api.room(asha)
        tokens = RestTokens(
            str(api.http.base_url),
            username=asha.email,
            password=asha.password,
            access_token=asha.token,
            refresh_token=asha.refresh_token,
            http=api.http,
        )
        async with ParleyClient(api.ws_url, tokens, backoff=Backoff(base=0.1, cap=1)) as client:
            await client.subscribe(f"room:{room}")
            async with lagging_event_loop(), asyncio.timeout(60):
                # Wait for the server to shed (a probe POST refused), then send.
                probe = {"body": "probe", "client_id": "probe"}
                url = f"/api/v1/rooms/{room}/messages"
                while (await api.http.post(url, json=probe)).status_code != 503:
                    pass
                sending = asyncio.create_task(client.send(f"room:{room}", "hello"))
                await until(lambda: client.stats.resent >= 1 or sending.done(), within=60)
            ack = await asyncio.wait_for(sending, 30)
        assert client.stats.resent >= 1  # refused once at least, then resent
        r = await api.http.get(f"/api/v1/rooms/{room}/messages", headers=asha.headers)
        assert [(m["client_id"], m["seq"]) for m in r.json()["items"]] == [(ack.client_id, ack.seq)]


def test_the_hint_is_read_from_the_error_frame_only_when_usable() -> None:
    def hint(value: object) -> float | None:
        frame = {"type": "error", "code": "unavailable", "message": "m", "retry_after": value}
        return ProtocolError.from_frame(frame).retry_after

    assert hint(3) == 3.0
    assert hint(0.5) == 0.5
    assert hint(10**9) == MAX_RETRY_AFTER
    for bogus in (None, 0, -1, True, "3", [3]):
        assert hint(bogus) is None
    no_hint = ProtocolError.from_frame({"code": "unavailable", "message": "m"})
    assert no_hint.retry_after is None


async def test_a_retry_waits_the_hint_plus_the_backoffs_jitter() -> None:
    future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    pending = PendingSend("r1", "room:1", "c1", "hi", future)  # type: ignore[arg-type]
    pending.backoff = Backoff(base=0.5, cap=10.0, rng=random.Random(7))
    delays = [pending.retry_delay(2.0) for _ in range(20)]
    assert all(delay >= 2.0 for delay in delays)
    assert len(set(delays)) > 1  # jittered: refused clients do not come back in lockstep
    assert 0 <= pending.retry_delay(None) <= pending.backoff.cap
