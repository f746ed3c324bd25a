"""Parsing client frames (PROTOCOL.md) and the registry of client frame types it accepts.

Client frames are parsed in steps so every failure has its documented code, whatever the
input (docs/protocol.md §5): nested deeper than `MAX_DEPTH`, not JSON or not an object ->
`bad_frame`; a string holding NUL or an unpaired surrogate -> `invalid`; no `type`, or one
that is not a known string -> `unknown_type`; bad fields -> `invalid` (with Pydantic's
per-field details). Parsing never raises anything but `FrameError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import KeysView
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from domain.errors import DomainError, ErrorCode
from realtime.client_frames import (
    REF_MAX_CHARS,
    AuthFrame,
    ClientFrame,
    PingFrame,
    PongFrame,
    ReadFrame,
    RefreshFrame,
    SendFrame,
    SubscribeFrame,
    TypingFrame,
    UnsubscribeFrame,
)

# Deeper JSON is refused before it is parsed: no frame needs more than a few levels, and a
# bound here keeps the C parser's recursion (and any walk over the value) cheap and safe.
MAX_DEPTH = 32

F = TypeVar("F", bound=ClientFrame)

# Every client frame type the server parses, by its `type`. The built-in ones are registered
# below; a feature adds its own with `register_client_frame` (realtime/ws_session.py's
# `handles` does it together with the frame's handler). A live view, never a stale copy.
_CLIENT_MODELS: dict[str, type[ClientFrame]] = {}
CLIENT_TYPES: KeysView[str] = _CLIENT_MODELS.keys()


def frame_type(model: type[BaseModel]) -> str:
    """The `type` a frame model declares with its `Literal[...]` annotation."""
    (kind,) = get_args(model.model_fields["type"].annotation)
    if not isinstance(kind, str):
        raise TypeError(f"{model.__name__}.type must be a Literal string")
    return kind


def register_client_frame(model: type[F]) -> type[F]:
    """Make `parse_client_frame` accept frames of `model`'s type. Idempotent for the same
    model; a second model for a type already taken is a bug and raises ValueError."""
    kind = frame_type(model)
    known = _CLIENT_MODELS.setdefault(kind, model)
    if known is not model:
        raise ValueError(f"client frame type {kind!r} is already {known.__name__}")
    return model


for _model in (
    AuthFrame,
    RefreshFrame,
    PingFrame,
    PongFrame,
    SubscribeFrame,
    UnsubscribeFrame,
    SendFrame,
    TypingFrame,
    ReadFrame,
):
    register_client_frame(_model)


class FrameError(DomainError):
    """A frame the server cannot act on; carries its protocol code."""

    def __init__(self, code: ErrorCode, message: str, *, ref: str | None, details: Any = None):
        super().__init__(message, details=details)
        self.code = code
        self.ref = ref


def parse_client_frame(text: str) -> ClientFrame:
    raw = _load(text)
    ref = usable_ref(raw.get("ref"))
    if "\\u" in text and not _clean(raw):
        # Only an escape can smuggle NUL or a lone surrogate into JSON text: raw control
        # characters are not JSON, and a WebSocket text frame is valid UTF-8.
        raise FrameError(
            ErrorCode.invalid,
            "Strings must not contain NUL or unpaired surrogates.",
            ref=ref,
        )
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in CLIENT_TYPES:
        shown = f" {kind!r}" if isinstance(kind, str) and len(kind) <= 32 else ""
        raise FrameError(
            ErrorCode.unknown_type,
            f"Unknown frame type{shown}.",
            ref=ref,
            details={"known": sorted(CLIENT_TYPES)},
        )
    try:
        return _CLIENT_MODELS[kind].model_validate(raw)
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise FrameError(
            ErrorCode.invalid, "The frame has invalid fields.", ref=ref, details=details
        ) from exc


def ref_of(text: str) -> str | None:
    """The frame's `ref` if it has a usable one; never raises (for refusals before parsing)."""
    try:
        return usable_ref(_load(text).get("ref"))
    except FrameError:
        return None


def usable_ref(value: object) -> str | None:
    """A ref that can be echoed: a string of at most 64 characters that encodes as UTF-8.

    Anything else is dropped rather than echoed, so an `error` frame is always sendable.
    """
    if isinstance(value, str) and len(value) <= REF_MAX_CHARS and _clean_text(value):
        return value
    return None


def _load(text: str) -> dict[str, Any]:
    if _too_deep(text):
        raise FrameError(
            ErrorCode.bad_frame, f"JSON nested deeper than {MAX_DEPTH} levels.", ref=None
        )
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise FrameError(ErrorCode.bad_frame, "The frame is not valid JSON.", ref=None) from exc
    if not isinstance(raw, dict):
        raise FrameError(ErrorCode.bad_frame, "A frame must be a JSON object.", ref=None)
    return raw


# A JSON string (skipped whole, so brackets inside strings do not count) or a bracket.
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


_OPENERS, _CLOSERS = frozenset("[{"), frozenset("]}")


def _too_deep(text: str) -> bool:
    """True if brackets nest deeper than MAX_DEPTH: a linear scan, no recursion.

    Most frames have too few brackets to nest that deep and skip the scan entirely.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    depth = 0
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        if token in _OPENERS:
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif token in _CLOSERS:
            depth -= 1
    return False


def _clean_text(value: str) -> bool:
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate
        return False
    return True


def _clean(value: object) -> bool:
    """No string (key or value) holds NUL or an unpaired surrogate. Depth is bounded."""
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, dict):
        return all(_clean_text(k) and _clean(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_clean(v) for v in value)
    return True
