"""The bot's knobs, as plain values (built from app settings by the composition root)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BotConfig:
    quota: int = 10  # answers per user per quota window (emergency replies are free)
    quota_window: float = 600.0
    window: float = 0.04  # throttle: at most one delta per window per answer
    cancel_poll: float = 0.2  # how often a silent model's answer checks the cancel key
    first_token_timeout: float = 20.0
    idle_timeout: float = 20.0  # between two chunks of text
    total_timeout: float = 120.0
    lease: float = 6.0  # the holding worker renews it every lease/3 (leases.py)
    sweep_every: float = 2.0  # a dead worker's answers end within lease + 2 x sweep_every
    context_messages: int = 20
    context_chars: int = 8000
    offline_pace: tuple[float, float] = (0.03, 0.06)  # seconds between offline chunks
    stream_maxlen: int = 8000  # entries kept per in-flight answer (> total/window)
    stream_ttl: float = 300.0  # the in-flight answer's Redis stream outlives a dead worker
    ended_ttl: float = 30.0  # ... and is dropped this soon after the answer ended
