"""Any OpenAI-compatible server, through the official `openai` client (AsyncOpenAI).

Streams with `stream_options={"include_usage": True}`: the last chunk (with `choices: []`)
carries the token usage. The SDK sends the request and maps HTTP errors
(`with_streaming_response`); the `data:` lines are parsed here with `json` instead of
building the SDK's `ChatCompletionChunk` model per token (3-4x less CPU per answer,
docs/decisions/0016). The SDK's own retries are off: a live answer fails fast and says so
(`stream_end` failed) rather than stalling the user behind hidden backoff; the caller's
first-token / idle / total timeouts bound every wait. The one exception: a request that got
no response at all (a connection error, not a timeout) is sent once more at once, on a
fresh connection (decision 0035).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator

import httpx
import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from domain.bot.providers import Piece, Prompt, ProviderError, Usage
from domain.triage.specialties import SPECIALTIES

SYSTEM_PROMPT = (
    "You are Symptom2Specialist, a triage aid inside a chat app. A person describes"
    " symptoms; you help them decide which kind of specialist doctor to see and how soon.\n"
    "Rules:\n"
    "- You are not a doctor and never give a diagnosis, a drug, or a dose. Say what kind of"
    " specialist fits and why, what to watch for, and when to seek care sooner.\n"
    "- If the description is too vague, ask one or two short clarifying questions, and"
    " still name the best first specialist (a General Physician if unsure).\n"
    "- If anything could be an emergency, tell the person to call emergency services now.\n"
    "- Keep it short and plain: a few short paragraphs.\n"
    '- End your answer with this sentence: "{disclaimer}"\n'
    "- Then, as the very last line, write exactly:\n"
    "SPECIALTY: <code> | URGENCY: <emergency|urgent|routine>\n"
    "where <code> is one of: {codes}."
)


def system_prompt(disclaimer: str) -> str:
    return SYSTEM_PROMPT.format(disclaimer=disclaimer, codes=", ".join(SPECIALTIES))


class OpenAIProvider:
    strict_verdict = True

    def __init__(
        self, *, api_key: str, base_url: str | None, model: str, disclaimer: str, timeout: float
    ) -> None:
        self._model = model
        self._system = system_prompt(disclaimer)
        self._client = AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            # Our own timeouts are tighter per phase; this bounds anything they miss.
            timeout=timeout,
        )

    @property
    def name(self) -> str:
        return self._model

    async def close(self) -> None:
        await self._client.close()

    async def stream(self, prompt: Prompt) -> AsyncGenerator[Piece, None]:
        messages: list[ChatCompletionMessageParam] = [{"role": "system", "content": self._system}]
        for turn in prompt.history:
            if turn.role == "user":
                messages.append({"role": "user", "content": turn.text})
            else:
                messages.append({"role": "assistant", "content": turn.text})
        messages.append({"role": "user", "content": prompt.message})
        for attempt in (1, 2):
            opened = False
            try:
                async with self._client.chat.completions.with_streaming_response.create(
                    model=self._model,
                    # The messages go in `extra_body`, sent as they are: they are plain dicts
                    # of str built above, and the SDK's transform of `messages` against its
                    # TypedDicts cost 1.3+ CPU-ms per request (docs/benchmarks.md).
                    messages=[],
                    extra_body={"messages": messages},
                    stream=True,
                    stream_options={"include_usage": True},
                ) as response:
                    opened = True
                    async for line in response.iter_lines():
                        for piece in parse_line(line):
                            yield piece
                return
            except openai.APIConnectionError as exc:
                if attempt == 1 and not opened and not isinstance(exc, openai.APITimeoutError):
                    # No response at all: almost always a pooled keep-alive connection the
                    # upstream closed as we reused it (its idle timeout racing httpx's,
                    # decision 0035). Nothing was shown, so one immediate retry on a fresh
                    # connection is invisible; a second failure fails the answer.
                    continue
                raise _failed(exc) from exc
            except openai.RateLimitError as exc:
                raise ProviderError(
                    "rate_limited",
                    "upstream_rate_limited",
                    "The AI model is busy right now (rate limited); please try again shortly.",
                ) from exc
            except (openai.APIError, httpx.HTTPError, UpstreamFailed) as exc:
                raise _failed(exc) from exc


def _failed(exc: Exception) -> ProviderError:
    # Status errors, connection errors, an error event mid-stream: never repeat the
    # upstream's words (they may echo the prompt), only what kind of failure it was.
    return ProviderError(
        "unavailable",
        "upstream_error",
        f"The AI model failed to answer ({type(exc).__name__}); please try again.",
    )


class UpstreamFailed(Exception):
    """An `error` event or a malformed chunk in the model's stream."""


def parse_line(line: str) -> list[Piece]:
    """The text and usage in one SSE line of a `chat.completion.chunk` stream.

    Parsed with `json`, not the SDK's per-chunk models: building a `ChatCompletionChunk`
    per token was two thirds of the client's CPU (docs/benchmarks.md), and a streamed
    answer is mostly chunks. The SDK still sends the request and maps HTTP errors."""
    if not line.startswith("data:"):
        return []  # blank separators, comments, `event:` lines
    data = line[5:].strip()
    if data == "[DONE]" or not data:
        return []
    try:
        chunk = json.loads(data)
    except ValueError:
        raise UpstreamFailed("not JSON") from None
    if not isinstance(chunk, dict) or chunk.get("error") is not None:
        raise UpstreamFailed("error event")
    out: list[Piece] = []
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        out.append(
            Piece(
                usage=Usage(
                    usage.get("prompt_tokens"), usage.get("completion_tokens"),
                    usage.get("total_tokens"),
                )
            )
        )  # fmt: skip
    for choice in chunk.get("choices") or ():
        content = (choice.get("delta") or {}).get("content") if isinstance(choice, dict) else None
        if isinstance(content, str) and content:
            out.append(Piece(content))
    return out
