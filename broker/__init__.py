"""Redis transport (and an in-process stand-in with the same interface).

Knows channels and bytes, not rooms: publish, subscribe, capped per-channel history for
recovery, presence sets and a few short-lived keys (token denylist, SSE tickets).
"""

from broker.base import Broker, MessageHandler, PresenceEntry, ReconnectHandler

__all__ = ["Broker", "MessageHandler", "PresenceEntry", "ReconnectHandler"]
