"""A local OpenAI-compatible server for tests: real HTTP, real SSE, real `openai` client.

`POST /v1/chat/completions` with `stream: true` answers with `chat.completion.chunk` SSE
lines and `data: [DONE]`, scripted per test: the text pieces, a delay before the first and
between pieces, a 429 or an error event mid-stream, and a final usage chunk with
`choices: []` when `stream_options.include_usage` asks for it. Every call is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.servers import free_port


@dataclass
class Script:
    pieces: list[str] = field(default_factory=lambda: ["Hello", " there."])
    first_delay: float = 0.0
    delay: float = 0.0
    status: int = 200  # 429 etc.: refuse before streaming
    fail_after: int | None = None  # send an error event after this many pieces
    usage: tuple[int, int] = (42, 7)


class FakeLLM:
    def __init__(self) -> None:
        self.script = Script()
        self.calls: list[dict[str, Any]] = []
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        app = Starlette(routes=[Route("/v1/chat/completions", self._completions, methods=["POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        self._task: asyncio.Task[None] | None = None
        self.disconnected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        async with asyncio.timeout(10):
            while not self._server.started:  # uvicorn offers no event to wait on
                if self._task.done():
                    self._task.result()  # it failed to start: say why
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 5)

    async def _completions(self, request: Request) -> Response:
        body = await request.json()
        self.calls.append(body)
        script = self.script
        if script.status != 200:
            return JSONResponse(
                {"error": {"message": "slow down", "type": "rate_limit", "code": "rate_limit"}},
                status_code=script.status,
            )
        return StreamingResponse(self._chunks(body, script), media_type="text/event-stream")

    async def _chunks(self, body: dict[str, Any], script: Script) -> AsyncIterator[str]:
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            data = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": created,
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(data)}\n\n"

        try:
            await asyncio.sleep(script.first_delay)
            yield chunk({"role": "assistant", "content": ""})
            for i, piece in enumerate(script.pieces):
                if script.fail_after is not None and i == script.fail_after:
                    error = {"error": {"message": "upstream exploded", "type": "server_error"}}
                    yield f"data: {json.dumps(error)}\n\n"
                    return
                if i:
                    await asyncio.sleep(script.delay)
                yield chunk({"content": piece})
            yield chunk({}, "stop")
            if (body.get("stream_options") or {}).get("include_usage"):
                prompt, completion = script.usage
                usage = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": body.get("model", "fake"),
                    "choices": [],
                    "usage": {
                        "prompt_tokens": prompt,
                        "completion_tokens": completion,
                        "total_tokens": prompt + completion,
                    },
                }
                yield f"data: {json.dumps(usage)}\n\n"
            yield "data: [DONE]\n\n"
        except asyncio.CancelledError:
            self.disconnected.set()  # the client went away (cancel, timeout)
            raise
