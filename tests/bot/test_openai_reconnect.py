"""The OpenAI provider against an upstream that drops a connection without answering:
what a pooled keep-alive connection looks like when the upstream's idle timeout closes it
just as it is reused (the bench's `upstream_error` on a quiet machine, decision 0035).

A raw TCP server, so the drop is exact: it reads the request, then closes or answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from domain.bot.openai_provider import OpenAIProvider
from domain.bot.providers import Piece, Prompt, ProviderError
from domain.triage import triage

CHUNKS = [
    {"choices": [{"index": 0, "delta": {"content": "See a"}}]},
    {"choices": [{"index": 0, "delta": {"content": " dermatologist."}}]},
]
SSE = "".join(f"data: {json.dumps(c)}\n\n" for c in CHUNKS) + "data: [DONE]\n\n"
RESPONSE = (
    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n"
    f"content-length: {len(SSE)}\r\n\r\n{SSE}"
).encode()


@asynccontextmanager
async def upstream(drops: int) -> AsyncIterator[tuple[int, list[str]]]:
    """Yields the port and the list of what each request got: "dropped" for the first
    `drops` (closed with no response), "answered" after."""
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(h.split(b":")[1])
            for h in head.split(b"\r\n")
            if h.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        if len(seen) < drops:
            seen.append("dropped")
        else:
            seen.append("answered")
            writer.write(RESPONSE)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, seen
    finally:
        server.close()
        await server.wait_closed()


async def answer(port: int) -> list[Piece]:
    provider = OpenAIProvider(
        api_key="test", base_url=f"http://127.0.0.1:{port}/v1", model="m", disclaimer="D.",
        timeout=10,
    )  # fmt: skip
    prompt = Prompt(history=[], message="a rash", offline=triage("a rash"))
    try:
        return [p async for p in provider.stream(prompt)]
    finally:
        await provider.close()


async def test_a_request_dropped_without_a_response_is_sent_once_more() -> None:
    async with upstream(drops=1) as (port, seen):
        pieces = await answer(port)
    assert [p.text for p in pieces] == ["See a", " dermatologist."]
    assert seen == ["dropped", "answered"]


async def test_a_second_drop_fails_the_answer_without_more_retries() -> None:
    async with upstream(drops=5) as (port, seen):
        with pytest.raises(ProviderError) as failed:
            await answer(port)
    assert failed.value.reason == "upstream_error"
    assert "APIConnectionError" in failed.value.message
    assert seen == ["dropped", "dropped"]
