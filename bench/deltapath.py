"""The bot's per-delta Redis write alone, in CPU time (robust on a busy machine):

    REDIS_URL=redis://127.0.0.1:6379/N .venv/bin/python -m bench.deltapath \
        [--answers 25,250] [--deltas 60]

`--answers` concurrent answers in this process each publish one delta every 50 ms
(20 tokens/s, an absolute schedule, starts spread over one interval) through
`RedisBroker.stream_publish`, exactly as a worker's pumps do (each awaits its delta before
the next). 250 answers is one worker's share of 500 streams on 2 workers. Reports this
process's CPU time (user+sys) per delta and the wall time the schedule took (longer than
deltas x 50 ms means the process could not keep up). Compare builds by running it on each
(docs/benchmarks.md, "Per-token CPU"). Keys are under a random prefix with a short TTL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import time

import uvloop

from broker.redis import RedisBroker
from domain.bot.events import DeltaEncoder

INTERVAL = 0.05


async def run(url: str, answers: int, deltas: int) -> tuple[float, float]:
    broker = RedisBroker(url, "bench", prefix=f"bench-delta-{secrets.token_hex(3)}")
    await broker.start()
    loop = asyncio.get_running_loop()

    async def answer(a: int, start: float) -> None:
        enc = DeltaEncoder("bench", f"room:{a}", f"s{a}")
        for i in range(deltas):
            wait = start + i * INTERVAL - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            await broker.stream_publish(
                f"bot:answer:{a}", f"room:{a}", enc.envelope(i, f" w{i:04d}"),
                maxlen=5000, ttl=30, flag=f"bot:cancel:s{a}",
            )  # fmt: skip

    try:
        await asyncio.gather(*(answer(a, loop.time()) for a in range(answers)))  # warm-up
        cpu0, wall0, t0 = os.times(), time.perf_counter(), loop.time()
        await asyncio.gather(*(answer(a, t0 + random.random() * INTERVAL) for a in range(answers)))
        cpu1 = os.times()
        cpu = cpu1.user - cpu0.user + cpu1.system - cpu0.system
        return cpu / (answers * deltas) * 1e6, time.perf_counter() - wall0
    finally:
        await broker.close()


def main() -> None:
    p = argparse.ArgumentParser(prog="bench.deltapath", description=__doc__.split("\n")[0])
    p.add_argument("--answers", default="25,250", help="comma list of concurrent answers")
    p.add_argument("--deltas", type=int, default=60, help="deltas per answer (60 = 3 s)")
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args()
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    for n in (int(x) for x in args.answers.split(",")):
        for _ in range(args.repeat):
            us, wall = uvloop.run(run(url, n, args.deltas))
            print(
                f"{n} answers x 20 deltas/s: {us:.1f} CPU-us per delta (user+sys),"
                f" schedule {args.deltas * INTERVAL:.1f} s took {wall:.1f} s"
            )


if __name__ == "__main__":
    main()
