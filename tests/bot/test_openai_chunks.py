"""The OpenAI provider's reading of one SSE line of a `chat.completion.chunk` stream."""

from __future__ import annotations

import json

import pytest

from domain.bot.openai_provider import UpstreamFailed, parse_line
from domain.bot.providers import Piece, Usage


def line(data: object) -> str:
    return "data: " + json.dumps(data)


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
    "text", ["", ": keep-alive", "event: message", "data: [DONE]", "data:", "id: 4"]
)
def test_separators_comments_and_done_carry_nothing(text: str) -> None:
    assert parse_line(text) == []


def test_a_role_only_or_empty_delta_carries_nothing() -> None:
    assert parse_line(line({"choices": [{"delta": {"role": "assistant"}}]})) == []
    assert parse_line(line({"choices": [{"delta": {"content": ""}}]})) == []


@pytest.mark.parametrize(
    "text",
    ['data: {"error": {"message": "exploded"}}', "data: {not json", "data: [1, 2]"],
)
def test_an_error_event_or_a_malformed_chunk_fails_the_stream(text: str) -> None:
    with pytest.raises(UpstreamFailed):
        parse_line(text)
