"""Recovery for `replay` kinds when a subscriber overflowed (realtime/channels.py).

A subscriber of a `replay` kind whose send queue was full had live frames dropped and was
marked `lagging` (the hub's fan-out). Once its connection has room again (`on_drained`),
each lagging subscription is replayed from its position by the kind's `replay`; live
events wait in its backlog meanwhile, so nothing overtakes the replay, and the backlog
is handed over through the same filter afterwards. A failed replay is logged and the
subscription goes live again; the client can resubscribe. An access revoked during the
replay (realtime/revocation.py marks a subscription with a backlog `revoked`) ends the
subscription once the replay stops, as `Hub.subscribe` does for one being set up.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from domain.tasks import spawn
from realtime.channels import StreamPosition, SubscribeRequest
from realtime.connection import Connection
from realtime.subscriptions import Subscription

if TYPE_CHECKING:
    from realtime.hub import Hub

log = logging.getLogger("parley.hub")


class OverflowReplay:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def on_drained(self, conn: Connection) -> None:
        """The connection has room again: replay what its lagging subscriptions dropped."""
        for channel in self.hub.channels_of(conn):
            ch = self.hub.channels.get(channel)
            sub = ch.subs.get(conn.id) if ch is not None else None
            if ch is None or sub is None or not sub.lagging or ch.kind.replay is None:
                continue
            if sub.backlog is not None:
                continue  # still subscribing or replaying: it will catch up from there
            sub.lagging = False
            position = max(sub.streams.items(), key=lambda kv: kv[1], default=None)
            request = SubscribeRequest(
                conn.user.id,
                ch.key,
                stream=StreamPosition(*position) if position is not None else None,
            )
            spawn(self._replay_to(sub, request), name="hub-overflow-replay")

    async def _replay_to(self, sub: Subscription, request: SubscribeRequest) -> None:
        replay = sub.channel.kind.replay
        assert replay is not None
        sub.backlog = []
        try:
            await sub.catch_up(await replay(self.hub.context, request))
            await sub.hand_over()
        except Exception as exc:  # noqa: BLE001 - the client can resubscribe
            log.warning("overflow replay failed", extra={"error": type(exc).__name__})
        finally:
            sub.backlog = None
            if sub.revoked is not None:
                self._end_revoked(sub)

    def _end_revoked(self, sub: Subscription) -> None:
        channel, conn = sub.channel.name, sub.conn
        ch = self.hub.channels.get(channel)
        if ch is None or ch.subs.get(conn.id) is not sub or sub.revoked is None:
            return  # already gone (unsubscribed or disconnected meanwhile)
        self.hub.detach(conn, channel)
        self.hub.revocations.notify(conn, channel, sub.revoked)
        spawn(self.hub.settle(channel, sub), name="hub-revoke-settle")
