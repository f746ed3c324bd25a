"""Redis transport (and an in-process stand-in with the same interfaces).

Knows channels, keys and bytes, not rooms: pub/sub with a capped per-channel history for
recovery (base.PubSub), presence, short-lived keys and counters, sorted sets (leaderboards)
and streams (in-flight LLM answers) (stores.py).
"""

from broker.base import Broker, MessageHandler, PubSub, ReconnectHandler
from broker.stores import (
    KeyStore,
    PresenceEntry,
    PresencePage,
    PresenceStore,
    SortedSetStore,
    StreamStore,
    Tally,
)

__all__ = [
    "Broker",
    "KeyStore",
    "MessageHandler",
    "PresenceEntry",
    "PresencePage",
    "PresenceStore",
    "PubSub",
    "ReconnectHandler",
    "SortedSetStore",
    "StreamStore",
    "Tally",
]
