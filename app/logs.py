"""Structured (key=value) logging, with secrets kept out of every line.

One filter, `RedactSecrets`, sits on the root handler, the one handler every line goes
through: a handler's filter sees the records of every logger that propagates to it, so
uvicorn's handshake lines (`"WebSocket /ws?token=..." 403`), its access log and our own
lines are all redacted in one place. `configure()` routes uvicorn's loggers to that
handler even when uvicorn configured its own handlers first (`python -m uvicorn`).

Redacted: values of query parameters named like a credential (`token`, `ticket`,
`access_token`, `client_secret`, `password`, `api_key`, ...), `Bearer`/`Basic` credentials
(as in an `Authorization` header), and anything shaped like a JWT (three base64url
segments starting with `eyJ`), wherever they occur: in the message, its arguments, the
extras, and a traceback's text. Beyond that, log calls pass only ids, codes and error
types in `extra`: nothing logs message bodies or health data.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from domain import logcontext

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}
REDACTED = "[REDACTED]"
_URLSAFE = r"[A-Za-z0-9_-]"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # A JWT anywhere (the header always starts with `{"`, base64url `eyJ`).
    (re.compile(rf"eyJ{_URLSAFE}*\.{_URLSAFE}*\.{_URLSAFE}*"), REDACTED),
    # `Authorization: Bearer <credential>` (or Basic), with or without the header name.
    # At least 8 credential characters, so prose like "Bearer token" stays readable.
    (
        re.compile(r"\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE),
        rf"\1\2{REDACTED}",
    ),
    # A query (or form) parameter whose name says it is a credential.
    (
        re.compile(
            r"\b([\w.-]*(?:token|ticket|secret|passw(?:or)?d|api[_-]?key)[\w.-]*)="
            r"[^&\s\"'#;]+",
            re.IGNORECASE,
        ),
        rf"\1={REDACTED}",
    ),
)


def redact(text: str) -> str:
    """`text` with every credential-looking part replaced by `[REDACTED]`."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Redact credentials from a record before any formatter sees it. Never drops a record.

    The message is rendered (`msg % args`) and redacted as one string, so a token split
    across the format and its arguments, or carried by an argument of any type, is caught;
    the record then carries no arguments. String extras and a traceback's text are
    redacted too; a non-string extra whose text holds a credential is replaced by its
    redacted text. Never raises: logging must not fail a request.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must still not leak
            message = f"{record.msg!s} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key in _STANDARD:
                continue
            text = value if isinstance(value, str) else repr(value)
            cleaned = redact(text)
            if cleaned != text:
                setattr(record, key, cleaned)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class ContextIds(logging.Filter):
    """Stamp the current request id and connection id (domain/logcontext.py) on a record
    that does not carry its own. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in (
            ("request_id", logcontext.request_id),
            ("connection_id", logcontext.connection_id),
        ):
            value = var.get()
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the ids and extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in line:
                line[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if extras:
            base += " " + " ".join(f"{k}={v!r}" for k, v in sorted(extras.items()))
        return base


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """One stderr handler on the root logger, with the redaction filter on it.

    `fmt` "json" writes JSON lines (JsonFormatter), else key=value text; both carry the
    request and connection ids (ContextIds, before the redaction filter).

    A uvicorn logger that has handlers of its own (uvicorn's default config, as under
    `python -m uvicorn`) loses them and propagates to the root instead: a record written
    by another handler would bypass the filter. A uvicorn logger without handlers is left
    alone, so a disabled access log (no handlers, no propagation) stays disabled.
    """
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            KeyValueFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
        )
    handler.addFilter(ContextIds())
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        logger = logging.getLogger(name)
        if logger.handlers:
            logger.handlers.clear()
            logger.propagate = True
