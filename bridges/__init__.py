"""Bridges: separate processes that are clients of Parley's WebSocket protocol.

The Telegram bridge (`python -m bridges.telegram`) arrives with its own issue; it will speak
only the documented protocol (docs/protocol.md) with a service token from
`parley token --service telegram`, and tag what it relays so it never loops its own
messages back.
"""
