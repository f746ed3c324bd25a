"""The OpenAI provider's reading of one SSE line of a `chat.completion.chunk` stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from domain.bot.openai_provider import UpstreamFailed, parse_line, pieces
from domain.bot.providers import Piece, Usage


def line(data: object) -> bytes:
    return b"data: " + json.dumps(data).encode()


def test_text_comes_from_every_choice_delta() -> None:
    chunk = {"choices": [{"index": 0, "delta": {"content": "An itchy"}}]}
    assert parse_line(line(chunk)) == [Piece("An itchy")]


def test_the_usage_chunk_may_have_no_choices_at_all() -> None:
    nothing: tuple[list[object] | None, ...] = ([], None)
    for choices in nothing:
        chunk = {"choices": choices, "usage": {"prompt_tokens": 3, "completion_tokens": 5,
                                              "total_tokens": 8}}  # fmt: skip
        assert parse_line(line(chunk)) == [Piece(usage=Usage(3, 5, 8))]


@pytest.mark.parametrize(
    "text", [b"", b": keep-alive", b"event: message", b"data: [DONE]", b"data:", b"id: 4"]
)
def test_separators_comments_and_done_carry_nothing(text: bytes) -> None:
    assert parse_line(text) == []


def test_a_role_only_or_empty_delta_carries_nothing() -> None:
    assert parse_line(line({"choices": [{"delta": {"role": "assistant"}}]})) == []
    assert parse_line(line({"choices": [{"delta": {"content": ""}}]})) == []


@pytest.mark.parametrize(
    "text",
    [b'data: {"error": {"message": "exploded"}}', b"data: {not json", b"data: [1, 2]",
     b'data: {"choices": "\xff"}'],
)  # fmt: skip
def test_an_error_event_or_a_malformed_chunk_fails_the_stream(text: bytes) -> None:
    with pytest.raises(UpstreamFailed):
        parse_line(text)


async def _read(reads: list[bytes]) -> list[Piece]:
    async def body() -> AsyncIterator[bytes]:
        for data in reads:
            yield data

    return [p async for p in pieces(body())]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
async def test_lines_are_split_at_any_sse_line_end_however_the_reads_fall(eol: bytes) -> None:
    chunks = [{"choices": [{"delta": {"content": f" w{k:04d}"}}]} for k in range(3)]
    body = b"".join(line(c) + eol + eol for c in chunks) + b"data: [DONE]" + eol + eol
    want = [Piece(f" w{k:04d}") for k in range(3)]
    # One read, one read per byte (a line end split across reads), and no final line end.
    assert await _read([body]) == want
    assert await _read([body[i : i + 1] for i in range(len(body))]) == want
    assert await _read([line(chunks[0])]) == want[:1]
