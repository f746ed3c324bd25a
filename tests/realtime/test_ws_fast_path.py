"""realtime/ws_fast_path.py: `/ws` is served past the framework chain, and still does what
that chain did for it (request ids on log lines, a bug logged once and answered 1011 or
500, never a traceback to the client); every other path goes down the normal chain.

Real uvicorn servers and real WebSocket clients; faults are injected into the endpoint's
own code (monkeypatch), never into PostgreSQL or Redis.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from domain import logcontext
from realtime import ws
from tests.support import Api, until

FAILED = "websocket endpoint failed"


class Records(logging.Handler):
    """The `parley` log records of the server in this process, with the request id each
    was logged under (the id lives in a context variable, read as the record is emitted)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen: list[tuple[logging.LogRecord, str | None]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record, logcontext.request_id.get()))

    def named(self, message: str) -> list[tuple[logging.LogRecord, str | None]]:
        return [(r, rid) for r, rid in self.seen if r.getMessage() == message]


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    logger = logging.getLogger("parley")
    previous = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)


def _a_bug(*args: object, **kwargs: object) -> object:
    raise ZeroDivisionError("a bug, with a secret detail")


@pytest.mark.expect_log(FAILED)
async def test_a_bug_that_escapes_the_endpoint_is_logged_once_and_closes_1011(
    api: Api, records: Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    asha = await api.user()
    # After the accept, outside every handler of the endpoint's own: the frame feeder of
    # the auth handshake.
    monkeypatch.setattr(ws, "feed", _a_bug)
    client = await api.ws()
    await client.send({"type": "auth", "token": asha.token})
    assert await client.closed_with() == 1011
    assert "secret detail" not in (client.conn.close_reason or "")
    await until(lambda: bool(records.named(FAILED)), within=10)
    ((record, _),) = records.named(FAILED)
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError


@pytest.mark.expect_log(FAILED)
async def test_a_bug_before_the_handshake_is_refused_500_and_logged_once(
    api: Api, records: Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ws, "services_of", _a_bug)
    with pytest.raises(InvalidStatus) as refused:
        await asyncio.wait_for(connect(api.ws_url), 10)
    assert refused.value.response.status_code == 500
    assert b"secret detail" not in refused.value.response.body
    await until(lambda: bool(records.named(FAILED)), within=10)
    assert len(records.named(FAILED)) == 1


async def test_a_connections_log_lines_carry_the_request_id_it_was_opened_with(
    api: Api, records: Records
) -> None:
    asha = await api.user()
    async with connect(api.ws_url, additional_headers={"X-Request-ID": "trace-me-42"}) as conn:
        await conn.send(json.dumps({"type": "auth", "token": asha.token}))
        hello = json.loads(await asyncio.wait_for(conn.recv(), 10))
        assert hello["type"] == "hello"
    await until(lambda: bool(records.named("connection closed")), within=10)
    assert [rid for _, rid in records.named("connection closed")] == ["trace-me-42"]


async def test_a_websocket_on_any_other_path_is_still_refused_by_the_router(api: Api) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await asyncio.wait_for(connect(api.ws_url.replace("/ws", "/ws/other")), 10)
    assert refused.value.response.status_code == 403
