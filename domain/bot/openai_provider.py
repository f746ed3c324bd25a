"""Any OpenAI-compatible server, through the official `openai` client (AsyncOpenAI).

Streams with `stream_options={"include_usage": True}`: the last chunk (with `choices: []`)
carries the token usage. The SDK's own retries are off: a live answer fails fast and says
so (`stream_end` failed) rather than stalling the user behind hidden backoff; the caller's
first-token / idle / total timeouts bound every wait.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

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
        try:
            stream = await self._client.chat.completions.create(
                model=self._model,
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
            )
            async with stream:
                async for chunk in stream:
                    if chunk.usage is not None:
                        u = chunk.usage
                        yield Piece(
                            usage=Usage(u.prompt_tokens, u.completion_tokens, u.total_tokens)
                        )
                    for choice in chunk.choices:
                        if choice.delta is not None and choice.delta.content:
                            yield Piece(choice.delta.content)
        except openai.RateLimitError as exc:
            raise ProviderError(
                "rate_limited",
                "upstream_rate_limited",
                "The AI model is busy right now (rate limited); please try again shortly.",
            ) from exc
        except openai.APIError as exc:
            # Status errors, connection errors, an error event mid-stream: never repeat the
            # upstream's words (they may echo the prompt), only what kind of failure it was.
            raise ProviderError(
                "unavailable",
                "upstream_error",
                f"The AI model failed to answer ({type(exc).__name__}); please try again.",
            ) from exc
