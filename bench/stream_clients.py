"""The client processes of `bench.streaming`: completions read straight from the fake
upstream over raw HTTP/1.1 (`direct_main`), and bot conversations through Parley's `/ws`
(`parley_main`), each recording when every token arrives."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import signal
import time
from typing import Any

from bench.loadgen import raise_nofile
from bench.wsclient import Frame, WsClient, authenticate, connect, subscribe

TOKEN = re.compile(rb"w(\d{4})")
TOKEN_S = re.compile(r"w(\d{4})")
SYMPTOM = "case {n}: an itchy red rash on my forearm for two weeks, no fever"
WARMUP_OFFSET = 500000

Job = tuple[int, float]  # (case, start offset in seconds)
PJob = tuple[int, float, str, int]  # (case, start offset, token, room)


def _result(
    case: int, sent: float, arrivals: list[tuple[int, float]], **extra: Any
) -> dict[str, Any]:
    return {"case": case, "sent": sent, "arrivals": arrivals, **extra}


async def _direct_one(port: int, case: int, at: float, within: float) -> dict[str, Any]:
    body = json.dumps(
        {
            "model": "fake",
            "stream": True,
            "messages": [{"role": "user", "content": SYMPTOM.format(n=case)}],
        }
    ).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    await asyncio.sleep(max(0.0, at - time.time()))
    arrivals: list[tuple[int, float]] = []
    sent = time.time()
    try:
        async with asyncio.timeout(within):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            sent = time.time()
            writer.write(head + body)
            buf = b""
            while True:
                data = await reader.read(65536)
                now = time.time()
                if not data:
                    break
                buf += data
                end = 0
                for m in TOKEN.finditer(buf):
                    arrivals.append((int(m.group(1)), now))
                    end = m.end()
                buf = buf[max(end, len(buf) - 8) :]
            writer.close()
    except (OSError, TimeoutError) as exc:
        return _result(case, sent, arrivals, error=repr(exc))
    return _result(case, sent, arrivals, status="complete")


async def _direct(port: int, jobs: list[Job], start: float, within: float) -> list[dict[str, Any]]:
    return list(
        await asyncio.gather(*(_direct_one(port, c, start + off, within) for c, off in jobs))
    )


def direct_main(port: int, jobs: list[Job], start: float, timeout: float, out: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise_nofile()
    import uvloop

    out.put(("done", uvloop.run(_direct(port, jobs, start, timeout))))


class Conversation:
    def __init__(self, case: int) -> None:
        self.case = case
        # Streams of answers before the measured one (the warm-up): a warm-up answer that
        # outlived its wait keeps streaming, and its tokens must not count as the measured
        # answer's (they carry token numbers, not the case).
        self.stale: set[str] = set()
        self.streams: set[str] = set()
        self.stale_replies: set[object] = set()  # the seqs those answers reply to
        self.replies: set[object] = set()
        self.reset()

    def reset(self) -> None:
        self.stale |= self.streams
        self.streams = set()
        self.stale_replies |= self.replies
        self.replies = set()
        self.sent = 0.0
        self.arrivals: list[tuple[int, float]] = []
        self.deltas: list[float] = []
        self.status: str | None = None
        self.durable = False
        self.done = asyncio.Event()
        self.error: str | None = None

    def on_frame(self, frame: Frame) -> None:
        now = time.time()
        kind = frame.get("type")
        stream = frame.get("stream")
        if isinstance(stream, str):
            if stream in self.stale:
                return
            self.streams.add(stream)
            if kind == "stream_start" and frame.get("reply_to") is not None:
                self.replies.add(frame.get("reply_to"))
        if kind == "message" and frame.get("reply_to") in self.stale_replies:
            return
        if kind == "delta":
            self.deltas.append(now)
            for m in TOKEN_S.finditer(str(frame.get("text", ""))):
                self.arrivals.append((int(m.group(1)), now))
        elif kind == "stream_end":
            self.status = str(frame.get("status"))
            if self.status != "complete":
                # No `error` (e.g. interrupted): the report then names the status instead.
                error = frame.get("error")
                self.error = json.dumps(error) if error is not None else None
                self.done.set()
        elif kind == "message" and (frame.get("author") or {}).get("bot"):
            self.durable = True
            self.done.set()
        elif kind == "error":
            self.error = f"{frame.get('code')}: {frame.get('message')}"
            self.done.set()


async def _warm(job: PJob, client: WsClient, conv: Conversation, within: float) -> None:
    """One unmeasured answer per conversation, all at once, so the measured ones meet warm
    workers (pooled connections opened, statements prepared, lazy imports done) like a
    server that has been up for a while. Its case number is offset: its tokens are not
    scored."""
    client.send(
        {
            "type": "send",
            "ref": client.next_ref(),
            "channel": f"room:{job[3]}",
            "client_id": secrets.token_hex(4),
            "body": SYMPTOM.format(n=job[0] + WARMUP_OFFSET),
        }
    )
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(conv.done.wait(), within)
    conv.reset()


async def _parley(
    port: int, jobs: list[PJob], ctl: Any, out: Any, within: float, warmup: bool
) -> list[dict[str, Any]]:
    convs: list[tuple[PJob, WsClient, Conversation]] = []
    sem = asyncio.Semaphore(32)

    async def open_one(job: PJob) -> None:
        async with sem:
            client = await connect("127.0.0.1", port)
            await authenticate(client, job[2])
            await subscribe(client, f"room:{job[3]}")
            conv = Conversation(job[0])
            client.on_frame = conv.on_frame
            convs.append((job, client, conv))

    await asyncio.gather(*(open_one(j) for j in jobs))
    if warmup:
        await asyncio.gather(*(_warm(*c, within) for c in convs))
    out.put(("ready", len(convs)))
    loop = asyncio.get_running_loop()
    start = float(await loop.run_in_executor(None, ctl.get))

    async def run(job: PJob, client: WsClient, conv: Conversation) -> dict[str, Any]:
        await asyncio.sleep(max(0.0, start + job[1] - time.time()))
        conv.sent = time.time()
        client.send(
            {
                "type": "send",
                "ref": client.next_ref(),
                "channel": f"room:{job[3]}",
                "client_id": secrets.token_hex(4),
                "body": SYMPTOM.format(n=job[0]),
            }
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(conv.done.wait(), within)
        client.close()
        return _result(
            conv.case,
            conv.sent,
            conv.arrivals,
            deltas=conv.deltas,
            status=conv.status,
            durable=conv.durable,
            error=conv.error or (None if conv.done.is_set() else "timeout"),
        )

    return list(await asyncio.gather(*(run(*c) for c in convs)))


def parley_main(
    port: int, jobs: list[PJob], ctl: Any, out: Any, timeout: float, warmup: bool
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise_nofile()
    import uvloop

    try:
        out.put(("done", uvloop.run(_parley(port, jobs, ctl, out, timeout, warmup))))
    except Exception as exc:
        out.put(("failed", repr(exc)))
        raise
