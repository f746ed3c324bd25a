"""A fake OpenAI-compatible streaming upstream for `bench.streaming`, run as its own process:

    .venv/bin/python -m bench.upstream --port P [--interval 0.05] [--tokens 100]

`POST /v1/chat/completions` (stream) answers with `chat.completion.chunk` SSE, like
tests/bot/fake_llm.py: a role chunk, then `--tokens` content tokens ` w0000`, ` w0001`, ...
(fixed width, so a client can tell each token apart and check order, loss and duplicates
whatever the coalescing), one every `--interval` seconds on an absolute schedule (no
drift), then the verdict line the server strips, `stop`, usage and `[DONE]`.

The case number is read from the last user message (`case <n>`); the wall-clock time each
token was handed to the transport is recorded per case and served by `GET /emits` (JSON
`{case: [t0, t1, ...]}`), so a client on the same machine can compute each token's delay
from its emission to its arrival, directly or through Parley.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

CASE = re.compile(r"case (\d+)")
VERDICT = "\nSPECIALTY: dermatology | URGENCY: routine"


def token(k: int) -> str:
    return f" w{k:04d}"


def make_app(interval: float, tokens: int) -> Starlette:
    emits: dict[int, list[float]] = {}

    def chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> str:
        data = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(data, separators=(',', ':'))}\n\n"

    async def stream(case: int, model: str, usage: bool) -> AsyncIterator[str]:
        times = emits.setdefault(case, [])
        yield chunk(model, {"role": "assistant", "content": ""})
        start = time.monotonic()
        for k in range(tokens):
            delay = start + k * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            times.append(time.time())
            yield chunk(model, {"content": token(k)})
        yield chunk(model, {"content": VERDICT})
        yield chunk(model, {}, "stop")
        if usage:
            u = {"prompt_tokens": 50, "completion_tokens": tokens, "total_tokens": 50 + tokens}
            data = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "choices": []}
            yield f"data: {json.dumps(data | {'model': model, 'usage': u})}\n\n"
        yield "data: [DONE]\n\n"

    async def completions(request: Request) -> Response:
        body = await request.json()
        text = ""
        for m in body.get("messages", []):
            if m.get("role") == "user" and isinstance(m.get("content"), str):
                text = m["content"]
        found = CASE.search(text)
        case = int(found.group(1)) if found else -1
        usage = bool((body.get("stream_options") or {}).get("include_usage"))
        model = str(body.get("model", "fake"))
        return StreamingResponse(stream(case, model, usage), media_type="text/event-stream")

    async def get_emits(request: Request) -> Response:
        return JSONResponse({str(k): v for k, v in emits.items()})

    async def reset(request: Request) -> Response:
        emits.clear()
        return JSONResponse({})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", completions, methods=["POST"]),
            Route("/emits", get_emits),
            Route("/reset", reset, methods=["POST"]),
        ]
    )


def main() -> None:
    p = argparse.ArgumentParser(prog="bench.upstream", description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--interval", type=float, default=0.05)
    p.add_argument("--tokens", type=int, default=100)
    args = p.parse_args()
    app = make_app(args.interval, args.tokens)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        backlog=4096,
    )


if __name__ == "__main__":
    main()
