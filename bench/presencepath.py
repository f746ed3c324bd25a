"""A worker's cost of `join` events in a crowded room, in frames and CPU time (robust on a
busy machine):

    REDIS_URL=redis://127.0.0.1:6379/N .venv/bin/python -m bench.presencepath \
        [--subscribers 1000,5000] [--joins 1000] [--rate 500]

One in-process `Hub` on a real `RedisBroker` holds `--subscribers` live subscriptions to one
room, each on a `Connection` whose socket always takes the frame (a sink that counts frames
and bytes: a real socket write costs more per frame, so this understates what fewer frames
save). `--joins` `join` envelopes, as another worker publishes them, are handed to the hub's
pub/sub handler at `--rate` per second (an absolute schedule), then the run waits for the
last `presence_diff`. Reports frames written per join (all subscribers together), this
process's CPU time (user+sys) per join, and frames per second per subscriber over the wall
time the run took (on a busy machine it stretches, and so do the windows it spans), once
with coalescing off (the threshold out of reach: every join is framed once and written to
each subscriber, as before 0033) and once on. The flush's count read goes to Redis, as in
a worker; keys are under a random prefix.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets

import uvloop
from sqlalchemy.ext.asyncio import async_sessionmaker

from broker import PresenceEntry
from broker.redis import RedisBroker
from domain.events import JoinEvent, UserRef, encode
from realtime.channels import kind_of
from realtime.connection import Connection
from realtime.hub import Hub
from realtime.subscriptions import ChannelState, Subscription

CHANNEL = "room:1"


class CountingSink:
    """A socket that always has room: counts what it is given."""

    frames = 0
    size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> None:
        CountingSink.frames += 1
        CountingSink.size += len(data)

    async def wait_writable(self) -> None:
        return None


async def run(url: str, subscribers: int, joins: int, rate: float, coalesce: bool) -> str:
    broker = RedisBroker(url, "bench", prefix=f"bench-presence-{secrets.token_hex(3)}")
    await broker.start()
    hub = Hub(broker, async_sessionmaker())
    if not coalesce:
        hub.coalescer.threshold = 10**9
    kind, key = kind_of(CHANNEL)
    ch = hub.channels[CHANNEL] = ChannelState(CHANNEL, kind, key)
    sink = CountingSink()
    for i in range(subscribers):
        conn = Connection(UserRef(id=i + 1, name=f"Member {i}"), 4096)
        conn.sink = sink
        entry = PresenceEntry(i + 1, f"Member {i}", "bench", conn.id)
        sub = Subscription(conn, ch, entry)
        sub.backlog = None  # live
        ch.add(sub)
    # The room's presence as the publishers left it (the flush reads the count from it):
    # the subscribers and the joiners online. Outside the measured part.
    entries = [sub.presence for sub in ch.subs.values() if sub.presence is not None]
    entries += [PresenceEntry(10**6 + j, f"Guest {j}", "far", f"g{j}") for j in range(joins)]
    for start in range(0, len(entries), 500):
        await asyncio.gather(
            *(broker.presence_add(CHANNEL, e, 120) for e in entries[start : start + 500])
        )
    hub.coalescer.seen(CHANNEL, subscribers)  # what the subscribers' snapshots said
    envelopes = [
        encode(JoinEvent(channel=CHANNEL, user=UserRef(id=10**6 + j, name=f"Guest {j}")), "far")
        for j in range(joins)
    ]
    loop = asyncio.get_running_loop()
    CountingSink.frames = CountingSink.size = 0
    cpu0 = os.times()
    t0 = loop.time()
    wall = 0.0
    try:
        for j, envelope in enumerate(envelopes):
            wait = t0 + j / rate - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            hub._on_broker_message(CHANNEL, envelope)  # the pub/sub entry point
        while hub.coalescer._windows:  # wait for the last flush  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        cpu1 = os.times()
        wall = loop.time() - t0
    finally:
        await broker.close()
    cpu = cpu1.user - cpu0.user + cpu1.system - cpu0.system
    return (
        f"subscribers={subscribers} joins={joins} coalesce={'on' if coalesce else 'off'}: "
        f"{CountingSink.frames / joins:.1f} frames/join, "
        f"{CountingSink.size / joins / 1024:.1f} KiB/join, "
        f"CPU {cpu / joins * 1e3:.3f} ms/join; "
        f"{CountingSink.frames / subscribers / wall:.1f} presence frames/s per subscriber "
        f"over {wall:.1f} s (schedule {joins / rate:.1f} s)"
    )


def main() -> None:
    p = argparse.ArgumentParser(prog="bench.presencepath", description=__doc__.split("\n")[0])
    p.add_argument("--subscribers", default="1000,5000")
    p.add_argument("--joins", type=int, default=1000)
    p.add_argument("--rate", type=float, default=500.0)
    args = p.parse_args()
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    for n in (int(x) for x in args.subscribers.split(",")):
        for coalesce in (False, True):
            line = uvloop.run(run(url, n, args.joins, args.rate, coalesce))
            print(line, flush=True)


if __name__ == "__main__":
    main()
